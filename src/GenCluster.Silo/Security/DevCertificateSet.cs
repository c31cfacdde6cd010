using GenCluster.Contracts.Security;

namespace GenCluster.Silo.Security;

/// <summary>
/// The files of one cluster's certificates in one directory, as <c>gencluster certs</c> writes them: the CA
/// (<c>ca.crt</c>, <c>ca.key</c>), a silo certificate (<c>silo.crt</c>, <c>silo.key</c>) and a trainer certificate
/// (<c>trainer.crt</c>, <c>trainer.key</c>); key files only their owner may read.
/// </summary>
public sealed record DevCertificateSet(string Directory)
{
    /// <summary>The CA certificate every silo and trainer is given (<c>--tls-ca</c>).</summary>
    public string CaCertificate => Path.Combine(Directory, "ca.crt");

    /// <summary>The CA's private key, needed only to issue certificates.</summary>
    public string CaKey => Path.Combine(Directory, "ca.key");

    /// <summary>The certificate file of <paramref name="role"/> (<c>silo.crt</c>, <c>trainer.crt</c>).</summary>
    public string Certificate(CertificateRole role) => Path.Combine(Directory, $"{role.Name()}.crt");

    /// <summary>The private key file of <paramref name="role"/> (<c>silo.key</c>, <c>trainer.key</c>).</summary>
    public string Key(CertificateRole role) => Path.Combine(Directory, $"{role.Name()}.key");

    /// <summary>The TLS options of a <paramref name="role"/> process.</summary>
    public ClusterTlsOptions Options(CertificateRole role) => new() { CertificateFile = Certificate(role), KeyFile = Key(role), CaFile = CaCertificate };

    /// <summary>The <c>--tls-cert</c>, <c>--tls-key</c> and <c>--tls-ca</c> flags of a <paramref name="role"/> process.</summary>
    public string[] Arguments(CertificateRole role) =>
        [ClusterTlsOptions.CertificateFlag, Certificate(role), ClusterTlsOptions.KeyFlag, Key(role), ClusterTlsOptions.CaFlag, CaCertificate];

    /// <summary>
    /// Makes a new CA and a silo and a trainer certificate valid for <paramref name="lifetime"/> from
    /// <paramref name="now"/>, and writes them into <paramref name="directory"/>. The silo certificate names
    /// <paramref name="hosts"/> besides localhost and 127.0.0.1.
    /// </summary>
    /// <param name="force">Replace a CA already there (every certificate it signed stops being accepted).</param>
    /// <exception cref="ClusterTlsException">The directory already holds a CA and <paramref name="force"/> is false.</exception>
    public static DevCertificateSet Write(string directory, IEnumerable<string> hosts, TimeSpan lifetime, DateTimeOffset now, bool force = false)
    {
        var set = new DevCertificateSet(Path.GetFullPath(directory));
        if (!force && (File.Exists(set.CaCertificate) || File.Exists(set.CaKey)))
        {
            throw new ClusterTlsException($"{set.CaCertificate} already exists: a new CA would cut off every silo and trainer holding " +
                                          "certificates of the old one; pass --force to replace it, or --out another directory");
        }
        using var authority = DevCertificateAuthority.Create(now, lifetime);
        PemFiles.WriteCertificate(set.CaCertificate, authority.Certificate);
        PemFiles.WritePrivateKey(set.CaKey, authority.Certificate);
        foreach (var role in Enum.GetValues<CertificateRole>())
        {
            using var certificate = authority.Issue(role, now, lifetime, hosts);
            PemFiles.WriteCertificate(set.Certificate(role), certificate);
            PemFiles.WritePrivateKey(set.Key(role), certificate);
        }
        return set;
    }
}
