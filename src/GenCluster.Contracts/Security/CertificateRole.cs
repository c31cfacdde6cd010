namespace GenCluster.Contracts.Security;

/// <summary>
/// What a certificate of the cluster's CA is for. A silo's certificate serves the silo and gateway ports and connects to
/// other silos (server and client authentication); a trainer's only connects to a gateway (client authentication), so
/// it cannot pass for a silo.
/// </summary>
public enum CertificateRole
{
    /// <summary>A silo: server and client authentication.</summary>
    Silo,

    /// <summary>An Orleans client of the gateway (a trainer): client authentication.</summary>
    Trainer,
}

/// <summary>The extended key usages each <see cref="CertificateRole"/> has and needs.</summary>
public static class CertificateRoles
{
    /// <summary>TLS server authentication (id-kp-serverAuth).</summary>
    public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>TLS client authentication (id-kp-clientAuth).</summary>
    public const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    /// <summary>The key usage OIDs a certificate of <paramref name="role"/> carries and a peer in that role must show.</summary>
    public static IReadOnlyList<string> Usages(this CertificateRole role) => role switch
    {
        CertificateRole.Silo => [ServerAuthentication, ClientAuthentication],
        CertificateRole.Trainer => [ClientAuthentication],
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    /// <summary>A usage's name in messages.</summary>
    public static string Describe(string usageOid) => usageOid switch
    {
        ServerAuthentication => "server authentication",
        ClientAuthentication => "client authentication",
        _ => usageOid,
    };

    /// <summary>The role's name in messages and subjects: <c>silo</c> or <c>trainer</c>.</summary>
    public static string Name(this CertificateRole role) => role.ToString().ToLowerInvariant();
}
