namespace GenCluster.Silo.Local;

/// <summary>Finds <c>gencluster-trainer.dll</c> for the local launcher.</summary>
public static class TrainerExecutable
{
    /// <summary>File name of the trainer's entry assembly.</summary>
    public const string FileName = "gencluster-trainer.dll";

    /// <summary>
    /// An explicit path wins; then a copy beside this executable (a combined publish); then the trainer's build output
    /// in the source tree this executable was built from, same configuration.
    /// </summary>
    public static string Locate(string? explicitPath, string baseDirectory)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath)
                ? Path.GetFullPath(explicitPath)
                : throw new FileNotFoundException($"--trainer: no trainer assembly at '{explicitPath}'", explicitPath);
        }

        var besideUs = Path.Combine(baseDirectory, FileName);
        if (File.Exists(besideUs)) return besideUs;

        var candidates = new List<string> { besideUs };
        var configuration = new DirectoryInfo(baseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Release";
        for (var dir = new DirectoryInfo(baseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "GenCluster.sln"))) continue;
            foreach (var config in new[] { configuration, "Release", "Debug" }.Distinct())
            {
                var built = Path.Combine(dir.FullName, "src", "GenCluster.Trainer", "bin", config, "net10.0", FileName);
                if (File.Exists(built)) return built;
                candidates.Add(built);
            }
            break;
        }
        throw new FileNotFoundException(
            $"cannot find {FileName}; looked at: {string.Join(", ", candidates)}. Build the solution first (dotnet build -c Release) or pass --trainer PATH.");
    }
}
