using System.Security.Cryptography.X509Certificates;

namespace GenCluster.Contracts.Security;

/// <summary>
/// What one process needs for mutual TLS: its certificate with the private key, and the validator of peers built on
/// the cluster's CA. <see cref="Load"/> checks the process's own certificate the way its peers will, so a certificate
/// from another CA, an expired one or one for the wrong role stops the process at start with the file named.
/// </summary>
public sealed class ClusterTlsCredentials
{
    private ClusterTlsCredentials(X509Certificate2 certificate, CertificateRole role, PeerCertificateValidator validator)
    {
        Certificate = certificate;
        Role = role;
        Validator = validator;
    }

    /// <summary>This process's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The role this process's certificate was checked for.</summary>
    public CertificateRole Role { get; }

    /// <summary>Decides on peers' certificates.</summary>
    public PeerCertificateValidator Validator { get; }

    /// <summary>Reads the files <paramref name="options"/> names (which must have been validated and not be insecure).</summary>
    /// <exception cref="ClusterTlsException">A file is missing or unusable, or the certificate would not pass its peers' check.</exception>
    public static ClusterTlsCredentials Load(ClusterTlsOptions options, CertificateRole role, TimeProvider time)
    {
        if (options.Insecure) throw new ArgumentException("TLS is off (Insecure): there are no credentials to load", nameof(options));
        var authorities = PemFiles.ReadCertificates(options.CaFile, ClusterTlsOptions.CaFlag);
        if (authorities.FirstOrDefault(a => !DevCertificateAuthority.IsAuthority(a)) is { } notAuthority)
            throw new ClusterTlsException($"{ClusterTlsOptions.CaFlag} {options.CaFile}: '{notAuthority.Subject}' is not a CA certificate (basic constraints)");
        var certificate = PemFiles.ReadCertificateWithKey(options.CertificateFile, options.KeyFile, ClusterTlsOptions.CertificateFlag, ClusterTlsOptions.KeyFlag);
        var validator = new PeerCertificateValidator(authorities, time);
        var verdict = validator.Validate(certificate, role);
        if (!verdict.Accepted)
        {
            throw new ClusterTlsException($"{ClusterTlsOptions.CertificateFlag} {options.CertificateFile} ('{certificate.Subject}') would be refused " +
                                          $"by this cluster's {(role == CertificateRole.Silo ? "silos and trainers" : "silos")}: {verdict.Reason}");
        }
        return new ClusterTlsCredentials(certificate, role, validator);
    }

    /// <summary>One line for a start-up banner: the certificate, its expiry and the CA.</summary>
    public string Describe() =>
        $"mutual TLS as '{Certificate.Subject}' (until {Certificate.NotAfter.ToUniversalTime():u}), peers must chain to {Validator.AuthorityNames}";
}
