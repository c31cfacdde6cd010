using GenCluster.Silo.Auth;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Tests.Local;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LocalCredentialsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-credentials-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void TheTokenFileHoldsAFreshAdminThenReadTokenAndOnlyItsOwnerMayReadIt()
    {
        var credentials = LocalCredentials.Create(Path.Combine(_directory, "state"));

        Assert.Equal(Path.Combine(_directory, "state", "api-tokens"), credentials.TokenFile);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credentials.TokenFile));
        var entries = ApiTokenFile.Load(credentials.TokenFile);
        Assert.Equal([(credentials.AdminToken, ApiScope.Admin, "local"), (credentials.ReadToken, ApiScope.Read, "prometheus")],
            entries.Select(e => (e.Token, e.Scope, e.Name)));
        Assert.Equal(credentials.AdminToken, ApiTokenFile.FirstToken(File.ReadAllText(credentials.TokenFile)));
        Assert.All([credentials.AdminToken, credentials.ReadToken], t => Assert.Matches("^[0-9a-f]{64}$", t));
        Assert.NotEqual(credentials.AdminToken, LocalCredentials.Create(Path.Combine(_directory, "other")).AdminToken);
    }

    [Fact]
    public void WritePrivateReplacesAReadableFile()
    {
        var path = Path.Combine(_directory, "silo.token");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        LocalCredentials.WritePrivate(path, "new");

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }
}
