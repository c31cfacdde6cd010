using System.Globalization;
using System.Text.RegularExpressions;

namespace GenCluster.Silo.Runs;

/// <summary>A sample grid the trainers wrote: <c>&lt;run&gt;/samples/step-NNNNNN.png</c>.</summary>
/// <param name="Step">The step it shows.</param>
/// <param name="Path">The file.</param>
public sealed record SampleGrid(long Step, string Path);

/// <summary>Finds a run's sample grids by their names (the step is in the name; padding may grow past six digits).</summary>
public static partial class SampleGrids
{
    /// <summary>The folder inside a run directory.</summary>
    public const string Folder = "samples";

    /// <summary>The grids among <paramref name="paths"/>, ascending by step; other files (charts, temporaries) are left out.</summary>
    public static IReadOnlyList<SampleGrid> Select(IEnumerable<string> paths) =>
        paths.Select(path => (Path: path, Match: Name().Match(Path.GetFileName(path))))
            .Where(p => p.Match.Success)
            .Select(p => new SampleGrid(long.Parse(p.Match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture), p.Path))
            .OrderBy(g => g.Step)
            .ToList();

    /// <summary>The grids in <paramref name="runDirectory"/>'s sample folder, ascending by step (none when it does not exist yet).</summary>
    public static IReadOnlyList<SampleGrid> InRun(string runDirectory)
    {
        var folder = Path.Combine(runDirectory, Folder);
        return Directory.Exists(folder) ? Select(Directory.EnumerateFiles(folder, "step-*.png")) : [];
    }

    // At most 18 digits, so every match parses as a long.
    [GeneratedRegex(@"\Astep-([0-9]{1,18})\.png\z", RegexOptions.CultureInvariant)]
    private static partial Regex Name();
}
