using GenCluster.Contracts.Security;
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
    public void ANewCaAndCertificatesForAWeekLieBesideTheTokens()
    {
        var credentials = LocalCredentials.Create(Path.Combine(_directory, "state"));

        Assert.Equal(Path.Combine(_directory, "state", "tls"), credentials.Tls.Directory);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credentials.Tls.Key(CertificateRole.Trainer)));
        var silo = ClusterTlsCredentials.Load(credentials.Tls.Options(CertificateRole.Silo), CertificateRole.Silo, TimeProvider.System);
        Assert.InRange(silo.Certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(6.9), LocalCredentials.TlsLifetime);
        Assert.NotEqual(File.ReadAllText(credentials.Tls.CaCertificate),
            File.ReadAllText(LocalCredentials.Create(Path.Combine(_directory, "other")).Tls.CaCertificate));
    }

    [Fact]
    public void AnotherSiloOfTheSameClusterSharesTheCertificates()
    {
        var first = LocalCredentials.Create(Path.Combine(_directory, "a"));

        var second = LocalCredentials.Create(Path.Combine(_directory, "b"), first.Tls);

        Assert.Same(first.Tls, second.Tls);
        Assert.False(Directory.Exists(Path.Combine(_directory, "b", "tls")));
        Assert.NotEqual(first.AdminToken, second.AdminToken);
    }

    [Fact]
    public void CredentialsMadeAgainInTheSameDirectoryReplaceTheOldOnes()
    {
        var first = LocalCredentials.Create(_directory);
        var ca = File.ReadAllText(first.Tls.CaCertificate);

        var second = LocalCredentials.Create(_directory);

        Assert.NotEqual(ca, File.ReadAllText(second.Tls.CaCertificate));
        Assert.NotEqual(first.AdminToken, second.AdminToken);
    }
}
