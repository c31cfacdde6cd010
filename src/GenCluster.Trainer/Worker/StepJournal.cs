using System.Globalization;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Worker;

/// <summary>
/// <c>&lt;run&gt;/steps.csv</c>: one line per optimizer step completed by rank 0 of a round (<c>round,step,epoch,loss_d,loss_g,skipped</c>).
/// It is the job's executed history across rounds: after a failure the steps between the resume checkpoint and the
/// failure appear once more under the next round, so re-run steps and gaps can be read off exactly.
/// </summary>
public sealed class StepJournal : IDisposable
{
    /// <summary>File name inside the run directory.</summary>
    public const string FileName = "steps.csv";

    /// <summary>Header line.</summary>
    public const string Header = "round,step,epoch,loss_d,loss_g,skipped";

    private readonly StreamWriter _writer;
    private readonly long _round;

    /// <summary>Opens (creating with a header) the journal of <paramref name="runDirectory"/> for appending.</summary>
    public StepJournal(string runDirectory, long round)
    {
        Directory.CreateDirectory(runDirectory);
        var path = Path.Combine(runDirectory, FileName);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        _writer = new StreamWriter(stream) { AutoFlush = true };
        if (stream.Length == 0) _writer.WriteLine(Header);
        _round = round;
    }

    /// <summary>Appends one step; a whole line per write so a killed writer leaves no half line behind in practice.</summary>
    public void Append(StepProgress progress) => _writer.Write(string.Create(CultureInfo.InvariantCulture,
        $"{_round},{progress.Step},{progress.Epoch},{progress.LossD:G6},{progress.LossG:G6},{(progress.Skipped ? 1 : 0)}\n"));

    /// <summary>
    /// The losses of every step in <paramref name="runDirectory"/>'s journal, by step; a step re-run after a recovery
    /// keeps its latest values. Lines that do not parse (a torn last line) are skipped.
    /// </summary>
    public static IReadOnlyList<LossPoint> ReadLosses(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) return [];
        var byStep = new SortedDictionary<long, LossPoint>();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        while (reader.ReadLine() is { } line)
        {
            var f = line.Split(',');
            var inv = CultureInfo.InvariantCulture;
            if (f.Length >= 5 && long.TryParse(f[1], inv, out var step) && double.TryParse(f[3], inv, out var d) && double.TryParse(f[4], inv, out var g))
                byStep[step] = new LossPoint(step, d, g);
        }
        return byStep.Values.ToList();
    }

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();
}
