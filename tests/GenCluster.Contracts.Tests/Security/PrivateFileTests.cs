using GenCluster.Contracts.Security;

namespace GenCluster.Contracts.Tests.Security;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PrivateFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-private-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WriteReplacesAReadableFileWithAnOwnerOnlyOne()
    {
        var path = Path.Combine(_directory, "silo.token");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        PrivateFile.Write(path, "new");

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void WriteMakesTheDirectory()
    {
        var path = Path.Combine(_directory, "a", "b", "key");

        PrivateFile.Write(path, "k");

        Assert.Equal("k", File.ReadAllText(path));
    }
}
