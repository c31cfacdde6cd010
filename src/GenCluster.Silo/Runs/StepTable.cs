using System.Globalization;

namespace GenCluster.Silo.Runs;

/// <summary>
/// Rows of a run's step journal (<c>&lt;run&gt;/steps.csv</c>: <c>round,step,epoch,skipped,</c> then the recipe's
/// metrics) after a given step, as numbers for a chart.
/// </summary>
/// <param name="Columns">The journal's header names, in order.</param>
/// <param name="Rows">One array per step, aligned with <see cref="Columns"/>, ascending by step; a value that is not a
/// finite number (<c>NaN</c>, infinities, an unreadable cell) is null.</param>
/// <param name="LastStep">The newest step in <see cref="Rows"/>, or null when there are none.</param>
/// <param name="Matched">Steps after the requested one before any thinning; more than <see cref="Rows"/> holds when
/// <see cref="Downsampled"/>.</param>
/// <param name="Downsampled">True when the rows were thinned to the cap (evenly spaced, first and last kept).</param>
public sealed record StepTable(IReadOnlyList<string> Columns, IReadOnlyList<double?[]> Rows, long? LastStep, int Matched, bool Downsampled)
{
    /// <summary>The column every journal carries the optimiser step in.</summary>
    public const string StepColumn = "step";

    /// <summary>A table with no columns and no rows (no journal yet).</summary>
    public static StepTable Empty { get; } = new([], [], null, 0, false);

    /// <summary>
    /// The rows of journal text <paramref name="text"/> whose step is greater than <paramref name="after"/>. A step
    /// journalled more than once (re-run after a recovery) keeps its latest line. Only newline-terminated lines count,
    /// so a line being written is left for the next call; lines with the wrong number of fields or no whole step are
    /// skipped. More than <paramref name="maxRows"/> rows are thinned to that many.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxRows"/> is under 2.</exception>
    /// <exception cref="InvalidDataException">The header has no <c>step</c> column.</exception>
    public static StepTable Parse(string text, long after, int maxRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 2);
        var complete = text.AsSpan(0, text.LastIndexOf('\n') + 1);
        if (complete.IsEmpty) return Empty;

        var headerEnd = complete.IndexOf('\n');
        var header = complete[..headerEnd].TrimEnd('\r').ToString();
        var columns = header.Split(',');
        var stepIndex = Array.IndexOf(columns, StepColumn);
        if (stepIndex < 0) throw new InvalidDataException($"the step journal's header '{header}' has no '{StepColumn}' column");

        // One more slot than columns, so a line with too many fields is told apart from a full one.
        var ranges = new Range[columns.Length + 1];
        var byStep = new Dictionary<long, double?[]>();
        foreach (var raw in complete[(headerEnd + 1)..].EnumerateLines())
        {
            var line = raw.TrimEnd('\r');
            if (line.Split(ranges, ',') != columns.Length
                || !long.TryParse(line[ranges[stepIndex]], NumberStyles.None, CultureInfo.InvariantCulture, out var step)
                || step <= after)
            {
                continue;
            }
            var values = new double?[columns.Length];
            for (var i = 0; i < values.Length; i++) values[i] = Number(line[ranges[i]]);
            byStep[step] = values;
        }

        var steps = byStep.Keys.Order().ToList();
        var rows = steps.ConvertAll(step => byStep[step]);
        return new StepTable(columns, Thin(rows, maxRows), steps.Count == 0 ? null : steps[^1], rows.Count, rows.Count > maxRows);
    }

    private static double? Number(ReadOnlySpan<char> field) =>
        double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : null;

    /// <summary>At most <paramref name="maxRows"/> evenly spaced rows, always the first and the last.</summary>
    private static List<double?[]> Thin(List<double?[]> rows, int maxRows)
    {
        if (rows.Count <= maxRows) return rows;
        return Enumerable.Range(0, maxRows).Select(i => rows[(int)((long)i * (rows.Count - 1) / (maxRows - 1))]).ToList();
    }
}
