using System.Globalization;

namespace GenCluster.Silo.Local;

/// <summary>One round's run of consecutive steps in a job's <c>steps.csv</c>.</summary>
/// <param name="Round">Round number.</param>
/// <param name="First">First step rank 0 completed in the round.</param>
/// <param name="Last">Last step rank 0 completed in the round.</param>
public sealed record JournalRound(long Round, long First, long Last)
{
    /// <summary>The checkpoint step the round resumed from (0 = a fresh start).</summary>
    public long ResumedFrom => First - 1;
}

/// <summary>
/// Reads <c>&lt;run&gt;/steps.csv</c>, the executed history the trainers append (one line per step completed by each
/// round's rank 0: <c>round,step,epoch,skipped,</c> then the recipe's metrics), into per-round step ranges.
/// </summary>
public static class StepJournalReader
{
    /// <summary>File name inside the run directory.</summary>
    public const string FileName = "steps.csv";

    /// <summary>Per-round ranges, in file order. A torn last line (a writer killed mid-line) is ignored.</summary>
    /// <exception cref="InvalidDataException">A round's steps are not consecutive, or rounds go backwards; names file and line.</exception>
    public static IReadOnlyList<JournalRound> Read(string path)
    {
        var rounds = new List<JournalRound>();
        if (!File.Exists(path)) return rounds;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var text = new StreamReader(stream).ReadToEnd();
        var lines = text.Split('\n');
        var columns = lines[0].Split(',').Length;
        for (var i = 1; i < lines.Length; i++)
        {
            var fields = lines[i].Split(',');
            if (fields.Length != columns || columns < 4
                || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var round)
                || !long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var step))
            {
                if (i == lines.Length - 1) break;
                throw new InvalidDataException($"{path}:{i + 1}: expected 'round,step,epoch,skipped,<metrics>', got '{lines[i]}'");
            }
            if (rounds.Count > 0 && rounds[^1].Round == round)
            {
                if (step != rounds[^1].Last + 1)
                    throw new InvalidDataException($"{path}:{i + 1}: round {round} ran step {step} after step {rounds[^1].Last}");
                rounds[^1] = rounds[^1] with { Last = step };
            }
            else
            {
                if (rounds.Count > 0 && round < rounds[^1].Round)
                    throw new InvalidDataException($"{path}:{i + 1}: round {round} after round {rounds[^1].Round}");
                rounds.Add(new JournalRound(round, step, step));
            }
        }
        return rounds;
    }
}
