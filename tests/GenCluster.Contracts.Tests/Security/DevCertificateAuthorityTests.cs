using System.Net;
using System.Security.Cryptography.X509Certificates;
using GenCluster.Contracts.Security;

namespace GenCluster.Contracts.Tests.Security;

public sealed class DevCertificateAuthorityTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);

    [Fact]
    public void TheCaIsASelfSignedP256AuthorityThatSignsCertificatesOnly()
    {
        using var ca = DevCertificateAuthority.Create(Now, Year);
        var certificate = ca.Certificate;

        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(certificate.Subject, certificate.Issuer);
        Assert.Matches("^CN=GenCluster CA [0-9a-f]{8}, O=GenCluster$", certificate.Subject);
        Assert.True(DevCertificateAuthority.IsAuthority(certificate));
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.Critical);
        Assert.Equal((true, 0), (constraints.HasPathLengthConstraint, constraints.PathLengthConstraint));
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, certificate.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        using var key = certificate.GetECDsaPublicKey();
        Assert.Equal(256, key!.KeySize);
    }

    [Fact]
    public void EveryCaHasItsOwnName()
    {
        using var a = DevCertificateAuthority.Create(Now, Year);
        using var b = DevCertificateAuthority.Create(Now, Year);

        Assert.NotEqual(a.Certificate.Subject, b.Certificate.Subject);
    }

    [Fact]
    public void ASiloCertificateChainsToTheCaForServerAndClientAuthenticationAndNamesItsHosts()
    {
        using var ca = DevCertificateAuthority.Create(Now, Year);
        using var silo = ca.Issue(CertificateRole.Silo, Now, Year, ["node-a", "10.0.0.5", " ", "LOCALHOST"]);

        Assert.True(silo.HasPrivateKey);
        Assert.Equal("CN=gencluster-silo, O=GenCluster", silo.Subject);
        Assert.Equal(ca.Certificate.Subject, silo.Issuer);
        Assert.False(DevCertificateAuthority.IsAuthority(silo));
        Assert.Equal([CertificateRoles.ServerAuthentication, CertificateRoles.ClientAuthentication], Usages(silo));
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, silo.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        var names = silo.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost", "node-a"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Parse("127.0.0.1"), IPAddress.Parse("10.0.0.5")], names.EnumerateIPAddresses());
        Assert.True(BuildsTo(ca.Certificate, silo));
    }

    [Fact]
    public void ATrainerCertificateChainsToTheCaForClientAuthenticationOnly()
    {
        using var ca = DevCertificateAuthority.Create(Now, Year);
        using var trainer = ca.Issue(CertificateRole.Trainer, Now, Year, ["ignored"]);

        Assert.Equal("CN=gencluster-trainer, O=GenCluster", trainer.Subject);
        Assert.Equal([CertificateRoles.ClientAuthentication], Usages(trainer));
        Assert.Empty(trainer.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.True(BuildsTo(ca.Certificate, trainer));
    }

    [Fact]
    public void CertificatesAreValidFromAFewMinutesBeforeNowForTheirLifetimeButNotBeyondTheCa()
    {
        using var ca = DevCertificateAuthority.Create(Now, TimeSpan.FromDays(30));
        using var week = ca.Issue(CertificateRole.Trainer, Now, TimeSpan.FromDays(7));
        using var tooLong = ca.Issue(CertificateRole.Trainer, Now, Year);

        Assert.Equal(Now - DevCertificateAuthority.ClockSkew, ca.Certificate.NotBefore.ToUniversalTime());
        Assert.Equal(Now - DevCertificateAuthority.ClockSkew, week.NotBefore.ToUniversalTime());
        Assert.Equal(Now.AddDays(7), week.NotAfter.ToUniversalTime());
        Assert.Equal(ca.Certificate.NotAfter, tooLong.NotAfter);
    }

    [Fact]
    public void EachCertificateHasItsOwnKeyAndSerialNumber()
    {
        using var ca = DevCertificateAuthority.Create(Now, Year);
        using var a = ca.Issue(CertificateRole.Trainer, Now, Year);
        using var b = ca.Issue(CertificateRole.Trainer, Now, Year);

        Assert.NotEqual(a.SerialNumber, b.SerialNumber);
        Assert.NotEqual(a.GetPublicKeyString(), b.GetPublicKeyString());
    }

    [Fact]
    public void ACaMustBeACaWithItsKey()
    {
        using var ca = DevCertificateAuthority.Create(Now, Year);
        using var leaf = ca.Issue(CertificateRole.Silo, Now, Year);
        using var publicOnly = X509CertificateLoader.LoadCertificate(ca.Certificate.RawData);

        Assert.Contains("not a CA certificate", Assert.Throws<ArgumentException>(() => DevCertificateAuthority.From(leaf)).Message);
        Assert.Contains("has no private key", Assert.Throws<ArgumentException>(() => DevCertificateAuthority.From(publicOnly)).Message);
        using var again = DevCertificateAuthority.From(X509CertificateLoader.LoadPkcs12(ca.Certificate.Export(X509ContentType.Pkcs12), null));
        using var issued = again.Issue(CertificateRole.Trainer, Now, Year);
        Assert.True(BuildsTo(ca.Certificate, issued));
    }

    private static string[] Usages(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value!).ToArray();

    private static bool BuildsTo(X509Certificate2 root, X509Certificate2 leaf)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = Now.UtcDateTime;
        return chain.Build(leaf) && chain.ChainElements[^1].Certificate.Thumbprint == root.Thumbprint;
    }
}
