using GenCluster.Contracts.Security;
using Orleans.Configuration;

namespace GenCluster.Trainer.Hosting;

/// <summary>Mutual TLS on an Orleans client's connections to the gateways.</summary>
public static class TrainerTlsExtensions
{
    /// <summary>Connects to gateways over TLS with <paramref name="credentials"/>; a gateway must hold a silo certificate of the cluster's CA.</summary>
    public static IClientBuilder UseClusterTls(this IClientBuilder client, ClusterTlsCredentials credentials) =>
        client.Configure<ClientConnectionOptions>(connections =>
            connections.ConfigureConnection(c => c.UseClientTls(ClusterTls.Options(credentials, CertificateRole.Silo, c.ApplicationServices))));
}
