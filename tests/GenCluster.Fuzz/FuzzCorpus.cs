namespace GenCluster.Fuzz;

/// <summary>
/// Where the committed seed corpus and dictionaries live: <c>tests/GenCluster.Fuzz/corpus/&lt;target&gt;/</c> and
/// <c>tests/GenCluster.Fuzz/dictionaries/&lt;target&gt;.dict</c>, found upward from a build output folder.
/// </summary>
/// <remarks>
/// File names say what a replay must see: <c>valid-*</c> inputs come from the product's own encoders and must be
/// accepted; everything else (<c>edge-*</c> hand-made cases, <c>crash-*</c> and <c>hang-*</c> inputs that once crashed
/// or hung a parser, <c>q-*</c> entries afl-fuzz found) may be accepted or refused but must not crash.
/// </remarks>
internal static class FuzzCorpus
{
    /// <summary>Prefix of inputs that must be accepted.</summary>
    public const string ValidPrefix = "valid-";

    /// <summary>The harness folder (<c>tests/GenCluster.Fuzz</c>) of the repository holding <paramref name="start"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">No folder above <paramref name="start"/> holds it.</exception>
    public static string HarnessDirectory(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "GenCluster.Fuzz");
            if (File.Exists(Path.Combine(candidate, "GenCluster.Fuzz.csproj")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"no tests/GenCluster.Fuzz/GenCluster.Fuzz.csproj in {start} or any folder above it");
    }

    /// <summary>The corpus folder of <paramref name="target"/>.</summary>
    public static string Directory(string target, string? start = null) =>
        Path.Combine(HarnessDirectory(start ?? AppContext.BaseDirectory), "corpus", target);

    /// <summary>Every committed input of <paramref name="target"/>, by name.</summary>
    public static IReadOnlyList<string> Files(string target, string? start = null) =>
        System.IO.Directory.GetFiles(Directory(target, start)).Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Runs every committed input of <paramref name="name"/> through <paramref name="target"/> once; returns what went
    /// wrong, one line per input: a <c>valid-*</c> input refused, or any input that threw (a crash).
    /// </summary>
    public static IReadOnlyList<string> Replay(string name, IFuzzTarget target)
    {
        var problems = new List<string>();
        var files = Files(name);
        if (!files.Any(f => Path.GetFileName(f).StartsWith(ValidPrefix, StringComparison.Ordinal)))
        {
            problems.Add($"{Directory(name)} holds no {ValidPrefix}* input: regenerate the seeds (GenCluster.Fuzz seed)");
        }

        foreach (var file in files)
        {
            try
            {
                var outcome = target.Run(File.ReadAllBytes(file));
                if (outcome != FuzzOutcome.Accepted && Path.GetFileName(file).StartsWith(ValidPrefix, StringComparison.Ordinal))
                {
                    problems.Add($"{file}: {outcome}, though the encoders made it (regenerate the seeds if the format changed)");
                }
            }
            catch (Exception ex)
            {
                problems.Add($"{file}: crashed with {ex}");
            }
        }

        return problems;
    }
}
