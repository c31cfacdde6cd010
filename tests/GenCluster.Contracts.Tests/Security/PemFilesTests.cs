using System.Security.Cryptography.X509Certificates;
using GenCluster.Contracts.Security;

namespace GenCluster.Contracts.Tests.Security;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PemFilesTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-pem-").FullName;
    private readonly DevCertificateAuthority _ca = DevCertificateAuthority.Create(Now, TimeSpan.FromDays(1));

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_directory, name);

    [Fact]
    public void ACertificateAndItsKeyRoundTripAndOnlyTheKeyIsPrivate()
    {
        using var silo = _ca.Issue(CertificateRole.Silo, Now, TimeSpan.FromDays(1));
        PemFiles.WriteCertificate(PathOf("silo.crt"), silo);
        PemFiles.WritePrivateKey(PathOf("silo.key"), silo);

        Assert.StartsWith("-----BEGIN CERTIFICATE-----", File.ReadAllText(PathOf("silo.crt")));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(PathOf("silo.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PathOf("silo.key")));
        Assert.NotEqual(UnixFileMode.None, File.GetUnixFileMode(PathOf("silo.crt")) & UnixFileMode.OtherRead);
        using var read = PemFiles.ReadCertificateWithKey(PathOf("silo.crt"), PathOf("silo.key"), "--tls-cert", "--tls-key");
        Assert.Equal(silo.Thumbprint, read.Thumbprint);
        Assert.True(read.HasPrivateKey);
    }

    [Fact]
    public void AKeyOfAnotherCertificateIsNamedWithBothFiles()
    {
        using var silo = _ca.Issue(CertificateRole.Silo, Now, TimeSpan.FromDays(1));
        using var trainer = _ca.Issue(CertificateRole.Trainer, Now, TimeSpan.FromDays(1));
        PemFiles.WriteCertificate(PathOf("silo.crt"), silo);
        PemFiles.WritePrivateKey(PathOf("trainer.key"), trainer);

        var error = Assert.Throws<ClusterTlsException>(() => PemFiles.ReadCertificateWithKey(PathOf("silo.crt"), PathOf("trainer.key"), "--tls-cert", "--tls-key"));

        Assert.StartsWith($"--tls-key {PathOf("trainer.key")} is not the private key of --tls-cert {PathOf("silo.crt")}", error.Message);
    }

    [Fact]
    public void AMissingOrNonPemFileIsNamedWithItsFlag()
    {
        File.WriteAllText(PathOf("junk.crt"), "not a certificate\n");

        Assert.Equal($"--tls-ca {PathOf("none.crt")}: the file does not exist",
            Assert.Throws<ClusterTlsException>(() => PemFiles.ReadCertificates(PathOf("none.crt"), "--tls-ca")).Message);
        Assert.Equal($"--tls-ca {PathOf("junk.crt")}: holds no PEM certificate (BEGIN CERTIFICATE)",
            Assert.Throws<ClusterTlsException>(() => PemFiles.ReadCertificates(PathOf("junk.crt"), "--tls-ca")).Message);
        Assert.Equal($"--tls-key {PathOf("none.key")}: the file does not exist",
            Assert.Throws<ClusterTlsException>(() => PemFiles.ReadCertificateWithKey(PathOf("junk.crt"), PathOf("none.key"), "--tls-cert", "--tls-key")).Message);
        Assert.StartsWith($"--tls-cert {PathOf("junk.crt")} with --tls-key {PathOf("junk.crt")}: not a PEM certificate and its PEM private key",
            Assert.Throws<ClusterTlsException>(() => PemFiles.ReadCertificateWithKey(PathOf("junk.crt"), PathOf("junk.crt"), "--tls-cert", "--tls-key")).Message);
    }

    [Fact]
    public void ACaFileMayHoldSeveralCertificates()
    {
        using var next = DevCertificateAuthority.Create(Now, TimeSpan.FromDays(1));
        File.WriteAllText(PathOf("ca.crt"), _ca.Certificate.ExportCertificatePem() + "\n" + next.Certificate.ExportCertificatePem() + "\n");

        var read = PemFiles.ReadCertificates(PathOf("ca.crt"), "--tls-ca");

        Assert.Equal([_ca.Certificate.Thumbprint, next.Certificate.Thumbprint], read.Select(c => c.Thumbprint));
        Assert.All(read, c => Assert.False(c.HasPrivateKey));
    }
}
