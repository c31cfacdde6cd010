using System.Globalization;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Worker;

/// <summary>
/// <c>&lt;run&gt;/steps.csv</c>: one line per optimizer step completed by rank 0 of a round
/// (<c>round,step,epoch,skipped,</c> then the recipe's metrics, e.g. <c>loss_d,loss_g</c>). It is the job's executed
/// history across rounds: after a failure the steps between the resume checkpoint and the failure appear once more
/// under the next round, so re-run steps and gaps can be read off exactly.
/// </summary>
public sealed class StepJournal : IDisposable
{
    /// <summary>File name inside the run directory.</summary>
    public const string FileName = "steps.csv";

    /// <summary>The columns every journal starts with; the recipe's metric names follow.</summary>
    public const string FixedColumns = "round,step,epoch,skipped";

    private readonly StreamWriter _writer;
    private readonly long _round;
    private readonly IReadOnlyList<string> _metrics;

    /// <summary>Opens (creating with a header) the journal of <paramref name="runDirectory"/> for appending.</summary>
    public StepJournal(string runDirectory, long round, IReadOnlyList<string> metricNames)
    {
        Directory.CreateDirectory(runDirectory);
        var path = Path.Combine(runDirectory, FileName);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        _writer = new StreamWriter(stream) { AutoFlush = true };
        _metrics = metricNames;
        if (stream.Length == 0) _writer.WriteLine(Header(metricNames));
        _round = round;
    }

    /// <summary>The header line for <paramref name="metricNames"/>.</summary>
    public static string Header(IReadOnlyList<string> metricNames) =>
        metricNames.Count == 0 ? FixedColumns : FixedColumns + "," + string.Join(",", metricNames);

    /// <summary>Appends one step; a whole line per write so a killed writer leaves no half line behind in practice.</summary>
    public void Append(StepProgress progress)
    {
        var line = new System.Text.StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{_round},{progress.Step},{progress.Epoch},{(progress.Skipped ? 1 : 0)}");
        foreach (var name in _metrics) line.Append(',').Append(progress.Metric(name).ToString("G6", CultureInfo.InvariantCulture));
        line.Append('\n');
        _writer.Write(line.ToString());
    }

    /// <summary>
    /// The metrics of every step in <paramref name="runDirectory"/>'s journal, by step; a step re-run after a recovery
    /// keeps its latest values. Lines that do not parse (a torn last line) are skipped.
    /// </summary>
    public static MetricHistory ReadMetrics(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) return new MetricHistory([], []);
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var header = reader.ReadLine()?.Split(',') ?? [];
        var fixedCount = FixedColumns.Split(',').Length;
        var names = header.Skip(fixedCount).ToList();
        var byStep = new SortedDictionary<long, MetricPoint>();
        var inv = CultureInfo.InvariantCulture;
        while (reader.ReadLine() is { } line)
        {
            var f = line.Split(',');
            if (f.Length != header.Length || !long.TryParse(f[1], inv, out var step)) continue;
            var values = new double[names.Count];
            var ok = true;
            for (var i = 0; i < names.Count && ok; i++) ok = double.TryParse(f[fixedCount + i], inv, out values[i]);
            if (ok) byStep[step] = new MetricPoint(step, values);
        }
        return new MetricHistory(names, byStep.Values.ToList());
    }

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();
}
