using GenCluster.Contracts.Security;
using Orleans.Configuration;

namespace GenCluster.Silo.Hosting;

/// <summary>Mutual TLS on the silo's Orleans ports.</summary>
public static class SiloTlsExtensions
{
    /// <summary>
    /// TLS with <paramref name="credentials"/> on the silo port (peers must hold silo certificates), the gateway port
    /// (any certificate of the cluster's CA with client authentication: trainers, silos) and connections to other silos.
    /// </summary>
    public static ISiloBuilder UseClusterTls(this ISiloBuilder silo, ClusterTlsCredentials credentials) =>
        // Not Orleans' UseTls: it applies one set of options to every port, and the silo port must admit silos only.
        silo.Configure<SiloConnectionOptions>(connections =>
        {
            connections.ConfigureSiloInboundConnection(c => c.UseServerTls(ClusterTls.Options(credentials, CertificateRole.Silo, c.ApplicationServices)));
            connections.ConfigureGatewayInboundConnection(c => c.UseServerTls(ClusterTls.Options(credentials, CertificateRole.Trainer, c.ApplicationServices)));
            connections.ConfigureSiloOutboundConnection(c => c.UseClientTls(ClusterTls.Options(credentials, CertificateRole.Silo, c.ApplicationServices)));
        });
}
