using GenCluster.Contracts.Security;
using GenCluster.Silo.Security;

namespace GenCluster.Silo.Tests.Security;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DevCertificateSetTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-certs-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static ClusterTlsCredentials Load(DevCertificateSet set, CertificateRole role) => ClusterTlsCredentials.Load(set.Options(role), role, TimeProvider.System);

    [Fact]
    public void WritesACaAndASiloAndATrainerCertificateThatTrustEachOther()
    {
        var set = DevCertificateSet.Write(Path.Combine(_directory, "certs"), ["node-a"], TimeSpan.FromDays(3), DateTimeOffset.UtcNow);

        Assert.Equal(Path.Combine(_directory, "certs"), set.Directory);
        Assert.Equal(["ca.crt", "ca.key", "silo.crt", "silo.key", "trainer.crt", "trainer.key"],
            Directory.GetFiles(set.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var key in new[] { set.CaKey, set.Key(CertificateRole.Silo), set.Key(CertificateRole.Trainer) })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        var silo = Load(set, CertificateRole.Silo);
        var trainer = Load(set, CertificateRole.Trainer);
        Assert.True(silo.Validator.Validate(trainer.Certificate, CertificateRole.Trainer).Accepted);
        Assert.True(trainer.Validator.Validate(silo.Certificate, CertificateRole.Silo).Accepted);
        Assert.Contains("node-a", silo.Certificate.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        Assert.InRange(silo.Certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(2.9), TimeSpan.FromDays(3));
    }

    [Fact]
    public void TheFlagsOfARoleNameItsFilesAndTheCa()
    {
        var set = new DevCertificateSet("/etc/gencluster/tls");

        Assert.Equal(["--tls-cert", "/etc/gencluster/tls/trainer.crt", "--tls-key", "/etc/gencluster/tls/trainer.key", "--tls-ca", "/etc/gencluster/tls/ca.crt"],
            set.Arguments(CertificateRole.Trainer));
        Assert.Equal("/etc/gencluster/tls/silo.crt", set.Arguments(CertificateRole.Silo)[1]);
        Assert.Equal(("/etc/gencluster/tls/silo.crt", "/etc/gencluster/tls/silo.key", "/etc/gencluster/tls/ca.crt"),
            (set.Options(CertificateRole.Silo).CertificateFile, set.Options(CertificateRole.Silo).KeyFile, set.Options(CertificateRole.Silo).CaFile));
    }

    [Fact]
    public void AnExistingCaIsKeptUnlessForced()
    {
        var first = DevCertificateSet.Write(_directory, [], TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
        var ca = File.ReadAllText(first.CaCertificate);

        var error = Assert.Throws<ClusterTlsException>(() => DevCertificateSet.Write(_directory, [], TimeSpan.FromDays(1), DateTimeOffset.UtcNow));

        Assert.StartsWith($"{first.CaCertificate} already exists: a new CA would cut off every silo and trainer", error.Message);
        Assert.Contains("--force", error.Message);
        Assert.Equal(ca, File.ReadAllText(first.CaCertificate));
        DevCertificateSet.Write(_directory, [], TimeSpan.FromDays(1), DateTimeOffset.UtcNow, force: true);
        Assert.NotEqual(ca, File.ReadAllText(first.CaCertificate));
        Assert.True(Load(first, CertificateRole.Silo).Certificate.HasPrivateKey);
    }
}
