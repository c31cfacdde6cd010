namespace GenCluster.IntegrationTests;

/// <summary>Files of the repository the tests were built from.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootDirectory = new(FindRoot);

    /// <summary>The directory holding <c>GenCluster.sln</c>, found upwards from the test assembly.</summary>
    public static string Root => RootDirectory.Value;

    /// <summary><paramref name="parts"/> joined under <see cref="Root"/>.</summary>
    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GenCluster.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no GenCluster.sln above {AppContext.BaseDirectory}");
    }
}
