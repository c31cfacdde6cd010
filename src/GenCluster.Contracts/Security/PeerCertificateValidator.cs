using System.Security.Cryptography.X509Certificates;

namespace GenCluster.Contracts.Security;

/// <summary>
/// Decides whether a peer's certificate belongs to this cluster: it must be in its validity period, chain to one of
/// the cluster's CA certificates and to nothing else (the system's trusted roots do not count), and carry the key
/// usages of the role the peer claims (<see cref="CertificateRoles.Usages"/>). Revocation is not checked: a cluster's
/// CA is replaced rather than revoking single certificates.
/// </summary>
public sealed class PeerCertificateValidator
{
    private readonly X509Certificate2Collection _authorities;
    private readonly TimeProvider _time;

    /// <param name="authorities">The cluster's CA certificates (the <c>--tls-ca</c> file).</param>
    /// <param name="time">The clock validity periods are checked against.</param>
    public PeerCertificateValidator(X509Certificate2Collection authorities, TimeProvider time)
    {
        if (authorities.Count == 0) throw new ArgumentException("at least one CA certificate is needed", nameof(authorities));
        _authorities = authorities;
        _time = time;
    }

    /// <summary>Validates <paramref name="certificate"/> as the certificate of a peer in <paramref name="role"/>.</summary>
    public PeerVerdict Validate(X509Certificate2? certificate, CertificateRole role)
    {
        if (certificate is null) return PeerVerdict.Refuse("no certificate was presented");
        var now = _time.GetUtcNow();
        if (now < certificate.NotBefore.ToUniversalTime())
            return PeerVerdict.Refuse($"it is not valid before {certificate.NotBefore.ToUniversalTime():u}");
        if (now > certificate.NotAfter.ToUniversalTime())
            return PeerVerdict.Refuse($"it expired at {certificate.NotAfter.ToUniversalTime():u}");
        if (DevCertificateAuthority.IsAuthority(certificate))
            return PeerVerdict.Refuse("it is a CA certificate, not a silo's or a trainer's");

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        if (!chain.Build(certificate)) return PeerVerdict.Refuse(ChainProblem(certificate, chain));

        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()
            .SelectMany(e => e.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>()).Select(o => o.Value).ToHashSet();
        var missing = role.Usages().Where(u => !usages.Contains(u)).ToList();
        if (missing.Count > 0)
        {
            var has = usages.Count == 0 ? "none" : string.Join(", ", usages.Select(u => CertificateRoles.Describe(u!)));
            return PeerVerdict.Refuse($"a {role.Name()} certificate needs {string.Join(" and ", missing.Select(CertificateRoles.Describe))}, " +
                                      $"which it lacks (its key usages: {has})");
        }
        return PeerVerdict.Accept;
    }

    /// <summary>The CA subjects, for messages.</summary>
    public string AuthorityNames => string.Join(", ", _authorities.Select(a => $"'{a.Subject}'"));

    private string ChainProblem(X509Certificate2 certificate, X509Chain chain)
    {
        var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        if (certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
            return $"it is self-signed, not issued by this cluster's CA {AuthorityNames}";
        if ((flags & (X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.UntrustedRoot)) != 0)
            return $"it was issued by '{certificate.Issuer}', not by this cluster's CA {AuthorityNames}";
        if ((flags & X509ChainStatusFlags.NotSignatureValid) != 0)
            return $"its signature does not verify against this cluster's CA {AuthorityNames} (issuer '{certificate.Issuer}')";
        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
            return $"the CA certificate it chains to ({AuthorityNames}) is outside its validity period";
        return string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).DefaultIfEmpty(flags.ToString()));
    }
}
