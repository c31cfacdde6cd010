using GenCluster.Contracts.Security;

namespace GenCluster.Contracts.Tests.Security;

public sealed class ClusterTlsCredentialsTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-tls-credentials-").FullName;
    private readonly DevCertificateAuthority _ca = DevCertificateAuthority.Create(Now.AddDays(-10), Year);

    public ClusterTlsCredentialsTests() => PemFiles.WriteCertificate(PathOf("ca.crt"), _ca.Certificate);

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_directory, name);

    private ClusterTlsOptions Write(string name, DevCertificateAuthority ca, CertificateRole role, DateTimeOffset issued, TimeSpan lifetime)
    {
        using var certificate = ca.Issue(role, issued, lifetime);
        PemFiles.WriteCertificate(PathOf($"{name}.crt"), certificate);
        PemFiles.WritePrivateKey(PathOf($"{name}.key"), certificate);
        return new ClusterTlsOptions { CertificateFile = PathOf($"{name}.crt"), KeyFile = PathOf($"{name}.key"), CaFile = PathOf("ca.crt") };
    }

    [Fact]
    public void ASiloAndATrainerLoadTheirCertificatesAndTheCa()
    {
        var silo = ClusterTlsCredentials.Load(Write("silo", _ca, CertificateRole.Silo, Now, Year), CertificateRole.Silo, TimeProvider.System);
        var trainer = ClusterTlsCredentials.Load(Write("trainer", _ca, CertificateRole.Trainer, Now, Year), CertificateRole.Trainer, TimeProvider.System);

        Assert.True(silo.Certificate.HasPrivateKey);
        Assert.Equal((CertificateRole.Silo, CertificateRole.Trainer), (silo.Role, trainer.Role));
        Assert.True(silo.Validator.Validate(trainer.Certificate, CertificateRole.Trainer).Accepted);
        Assert.True(trainer.Validator.Validate(silo.Certificate, CertificateRole.Silo).Accepted);
        Assert.StartsWith("mutual TLS as 'CN=gencluster-silo, O=GenCluster' (until ", silo.Describe());
        Assert.EndsWith($"peers must chain to '{_ca.Certificate.Subject}'", silo.Describe());
    }

    [Fact]
    public void ACertificateOfAnotherCaStopsTheProcessNamingTheFileAndTheReason()
    {
        using var other = DevCertificateAuthority.Create(Now, Year);
        var options = Write("foreign", other, CertificateRole.Trainer, Now, Year);

        var error = Assert.Throws<ClusterTlsException>(() => ClusterTlsCredentials.Load(options, CertificateRole.Trainer, TimeProvider.System));

        Assert.Equal($"--tls-cert {options.CertificateFile} ('CN=gencluster-trainer, O=GenCluster') would be refused by this cluster's silos: " +
                     $"it was issued by '{other.Certificate.Subject}', not by this cluster's CA '{_ca.Certificate.Subject}'", error.Message);
    }

    [Fact]
    public void ATrainerCertificateCannotServeASilo()
    {
        var options = Write("trainer", _ca, CertificateRole.Trainer, Now, Year);

        var error = Assert.Throws<ClusterTlsException>(() => ClusterTlsCredentials.Load(options, CertificateRole.Silo, TimeProvider.System));

        Assert.Contains("would be refused by this cluster's silos and trainers: a silo certificate needs server authentication", error.Message);
    }

    [Fact]
    public void AnExpiredCertificateStopsTheProcess()
    {
        var options = Write("old", _ca, CertificateRole.Trainer, Now.AddDays(-3), TimeSpan.FromDays(1));

        var error = Assert.Throws<ClusterTlsException>(() => ClusterTlsCredentials.Load(options, CertificateRole.Trainer, TimeProvider.System));

        Assert.Contains("it expired at ", error.Message);
    }

    [Fact]
    public void ACaFileThatHoldsALeafIsRefused()
    {
        var options = Write("silo", _ca, CertificateRole.Silo, Now, Year);
        options.CaFile = options.CertificateFile;

        var error = Assert.Throws<ClusterTlsException>(() => ClusterTlsCredentials.Load(options, CertificateRole.Silo, TimeProvider.System));

        Assert.Equal($"--tls-ca {options.CaFile}: 'CN=gencluster-silo, O=GenCluster' is not a CA certificate (basic constraints)", error.Message);
    }
}
