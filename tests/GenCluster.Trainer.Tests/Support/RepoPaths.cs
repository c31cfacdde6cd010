using GenCluster.Trainer.Data;

namespace GenCluster.Trainer.Tests.Support;

public static class RepoPaths
{
    /// <summary>The shared MNIST copy beside the repository (may not exist: the locator then fetches with npm).</summary>
    public static string? SharedMnist => MnistLocatorOptions.DefaultSharedDirectory(AppContext.BaseDirectory);

    /// <summary>A fresh empty directory under the system temp directory.</summary>
    public static TempDirectory NewTemp() => new();
}

public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("gencluster-test-").FullName;

    public string Path { get; }

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
