using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Connections.Security;

namespace GenCluster.Contracts.Security;

/// <summary>
/// Orleans' TLS settings for one kind of connection (silo port, gateway port, or outbound): present this process's
/// certificate, demand one from the peer, and accept it only when <see cref="PeerCertificateValidator"/> does for
/// the role the peer must have; every refusal is logged with the peer's subject and the reason.
/// </summary>
public static partial class ClusterTls
{
    /// <summary>TLS options for connections whose remote end must hold a <paramref name="peerRole"/> certificate, logging to <paramref name="services"/>' loggers.</summary>
    public static TlsOptions Options(ClusterTlsCredentials credentials, CertificateRole peerRole, IServiceProvider services) =>
        Options(credentials, peerRole, services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ClusterTls).FullName!));

    /// <summary>TLS options for connections whose remote end must hold a <paramref name="peerRole"/> certificate.</summary>
    public static TlsOptions Options(ClusterTlsCredentials credentials, CertificateRole peerRole, ILogger logger) => new()
    {
        LocalCertificate = credentials.Certificate,
        RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
        ClientCertificateMode = RemoteCertificateMode.RequireCertificate,
        CheckCertificateRevocation = false,
        // The platform's verdict (policy errors) is ignored: it trusts the system's roots, not the cluster's CA.
        RemoteCertificateValidation = (certificate, _, _) =>
        {
            var verdict = credentials.Validator.Validate(certificate, peerRole);
            if (!verdict.Accepted) PeerRefused(logger, peerRole.Name(), certificate?.Subject ?? "(none)", certificate?.Issuer ?? "(none)", verdict.Reason);
            return verdict.Accepted;
        },
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "TLS: refused the {Role} certificate '{Subject}' (issuer '{Issuer}'): {Reason}")]
    private static partial void PeerRefused(ILogger logger, string role, string subject, string issuer, string reason);
}
