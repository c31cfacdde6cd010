using System.Net.Security;
using GenCluster.Contracts.Security;
using Microsoft.Extensions.Logging;
using Orleans.Connections.Security;

namespace GenCluster.Contracts.Tests.Security;

public sealed class ClusterTlsTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-cluster-tls-").FullName;
    private readonly DevCertificateAuthority _ca = DevCertificateAuthority.Create(Now, Year);
    private readonly ListLogger _log = new();
    private readonly ClusterTlsCredentials _silo;

    public ClusterTlsTests()
    {
        using var silo = _ca.Issue(CertificateRole.Silo, Now, Year);
        var options = new ClusterTlsOptions { CertificateFile = Path.Combine(_directory, "silo.crt"), KeyFile = Path.Combine(_directory, "silo.key"), CaFile = Path.Combine(_directory, "ca.crt") };
        PemFiles.WriteCertificate(options.CertificateFile, silo);
        PemFiles.WritePrivateKey(options.KeyFile, silo);
        PemFiles.WriteCertificate(options.CaFile, _ca.Certificate);
        _silo = ClusterTlsCredentials.Load(options, CertificateRole.Silo, TimeProvider.System);
    }

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void BothEndsPresentTheirCertificateAndDemandThePeers()
    {
        var options = ClusterTls.Options(_silo, CertificateRole.Trainer, _log);

        Assert.Same(_silo.Certificate, options.LocalCertificate);
        Assert.Equal(RemoteCertificateMode.RequireCertificate, options.RemoteCertificateMode);
        Assert.Equal(RemoteCertificateMode.RequireCertificate, options.ClientCertificateMode);
        Assert.False(options.CheckCertificateRevocation);
    }

    [Fact]
    public void APeerOfTheClusterIsAcceptedWhateverThePlatformSaysAboutItsRoot()
    {
        using var trainer = _ca.Issue(CertificateRole.Trainer, Now, Year);
        var options = ClusterTls.Options(_silo, CertificateRole.Trainer, _log);

        Assert.True(options.RemoteCertificateValidation!(trainer, null!, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.Empty(_log.Lines);
    }

    [Fact]
    public void ARefusedPeerIsLoggedWithItsSubjectIssuerAndTheReason()
    {
        using var other = DevCertificateAuthority.Create(Now, Year);
        using var trainer = other.Issue(CertificateRole.Trainer, Now, Year);
        var options = ClusterTls.Options(_silo, CertificateRole.Trainer, _log);

        Assert.False(options.RemoteCertificateValidation!(trainer, null!, SslPolicyErrors.None));

        var line = Assert.Single(_log.Lines);
        Assert.Equal((LogLevel.Warning, $"TLS: refused the trainer certificate 'CN=gencluster-trainer, O=GenCluster' (issuer '{other.Certificate.Subject}'): " +
                                        $"it was issued by '{other.Certificate.Subject}', not by this cluster's CA '{_ca.Certificate.Subject}'"), line);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}
