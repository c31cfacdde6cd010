using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GenCluster.Contracts.Security;

/// <summary>
/// A small certificate authority for one cluster: an ECDSA P-256 CA certificate and the silo and trainer certificates it
/// signs. Peers trust each other because their certificates chain to this CA (<see cref="PeerCertificateValidator"/>),
/// so each cluster gets its own.
/// </summary>
public sealed class DevCertificateAuthority : IDisposable
{
    /// <summary>How far before "now" certificates become valid, so peers whose clocks are slightly behind accept them.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private DevCertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// Makes a new CA valid from <paramref name="now"/> (less <see cref="ClockSkew"/>) for <paramref name="lifetime"/>; its
    /// subject ends in a random id so that messages about two clusters' CAs can tell them apart.
    /// </summary>
    public static DevCertificateAuthority Create(DateTimeOffset now, TimeSpan lifetime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var id = RandomNumberGenerator.GetHexString(8, lowercase: true);
        var request = new CertificateRequest($"CN=GenCluster CA {id}, O=GenCluster", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return new DevCertificateAuthority(request.CreateSelfSigned(now - ClockSkew, now + lifetime));
    }

    /// <summary>A CA loaded from its certificate and private key (e.g. the <c>ca.crt</c> and <c>ca.key</c> that <c>gencluster certs</c> wrote).</summary>
    /// <exception cref="ArgumentException">The certificate has no private key or is not a CA.</exception>
    public static DevCertificateAuthority From(X509Certificate2 certificate)
    {
        if (!certificate.HasPrivateKey) throw new ArgumentException($"'{certificate.Subject}' has no private key", nameof(certificate));
        if (!IsAuthority(certificate)) throw new ArgumentException($"'{certificate.Subject}' is not a CA certificate", nameof(certificate));
        return new DevCertificateAuthority(certificate);
    }

    /// <summary>Whether <paramref name="certificate"/> says it is a certificate authority (basic constraints).</summary>
    public static bool IsAuthority(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);

    /// <summary>
    /// Issues a certificate for <paramref name="role"/> with a new key, valid from <paramref name="now"/> (less
    /// <see cref="ClockSkew"/>) for <paramref name="lifetime"/>, but never beyond the CA's own validity. A silo's names its
    /// <paramref name="hosts"/> (IP addresses or DNS names) besides <c>localhost</c> and <c>127.0.0.1</c> as subject
    /// alternative names, for tools that check them; peers of the cluster identify each other by CA and role.
    /// </summary>
    /// <exception cref="ArgumentException">The certificate's validity would lie entirely outside the CA's.</exception>
    public X509Certificate2 Issue(CertificateRole role, DateTimeOffset now, TimeSpan lifetime, IEnumerable<string>? hosts = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=gencluster-{role.Name()}, O=GenCluster", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        var usages = new OidCollection();
        foreach (var usage in role.Usages()) usages.Add(new Oid(usage));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var caHasKeyId = Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Any();
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: caHasKeyId, includeIssuerAndSerial: !caHasKeyId));
        if (role == CertificateRole.Silo) request.CertificateExtensions.Add(SubjectAlternativeNames(hosts ?? []));

        var notBefore = Max(now - ClockSkew, Certificate.NotBefore.ToUniversalTime());
        var notAfter = Min(now + lifetime, Certificate.NotAfter.ToUniversalTime());
        if (notAfter <= notBefore)
            throw new ArgumentException($"a certificate from {now - ClockSkew:u} to {now + lifetime:u} lies outside the CA's validity", nameof(now));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7f) | 0x40); // positive, and no leading zero byte in its DER encoding
        using var issued = request.Create(Certificate, notBefore, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Disposes the CA certificate (and its key).</summary>
    public void Dispose() => Certificate.Dispose();

    private static X509Extension SubjectAlternativeNames(IEnumerable<string> hosts)
    {
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in new[] { "localhost", "127.0.0.1" }.Concat(hosts.Select(h => h.Trim())).Where(h => h.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(host, out var address)) names.AddIpAddress(address);
            else names.AddDnsName(host);
        }
        return names.Build();
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTime b) => a > b ? a : new DateTimeOffset(b, TimeSpan.Zero);

    private static DateTimeOffset Min(DateTimeOffset a, DateTime b) => a < b ? a : new DateTimeOffset(b, TimeSpan.Zero);
}
