using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GenCluster.Contracts.Security;
using Microsoft.Extensions.Time.Testing;

namespace GenCluster.Contracts.Tests.Security;

public sealed class PeerCertificateValidatorTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);
    private readonly DevCertificateAuthority _ca = DevCertificateAuthority.Create(Now.AddDays(-100), TimeSpan.FromDays(1000));
    private readonly FakeTimeProvider _time = new(Now);
    private readonly PeerCertificateValidator _validator;

    public PeerCertificateValidatorTests() => _validator = new PeerCertificateValidator([_ca.Certificate], _time);

    public void Dispose() => _ca.Dispose();

    [Fact]
    public void ACertificateOfTheCaInItsRoleIsAccepted()
    {
        using var silo = _ca.Issue(CertificateRole.Silo, Now, Year);
        using var trainer = _ca.Issue(CertificateRole.Trainer, Now, Year);

        Assert.Equal(PeerVerdict.Accept, _validator.Validate(silo, CertificateRole.Silo));
        Assert.Equal(PeerVerdict.Accept, _validator.Validate(trainer, CertificateRole.Trainer));
        // A silo may also connect to a gateway, as any client does.
        Assert.Equal(PeerVerdict.Accept, _validator.Validate(silo, CertificateRole.Trainer));
    }

    [Fact]
    public void ATrainerCertificateCannotPassForASilo()
    {
        using var trainer = _ca.Issue(CertificateRole.Trainer, Now, Year);

        var verdict = _validator.Validate(trainer, CertificateRole.Silo);

        Assert.False(verdict.Accepted);
        Assert.Equal("a silo certificate needs server authentication, which it lacks (its key usages: client authentication)", verdict.Reason);
    }

    [Fact]
    public void ACertificateOfAnotherCaIsRefusedNamingBothCas()
    {
        using var other = DevCertificateAuthority.Create(Now, Year);
        using var trainer = other.Issue(CertificateRole.Trainer, Now, Year);

        var verdict = _validator.Validate(trainer, CertificateRole.Trainer);

        Assert.False(verdict.Accepted);
        Assert.Equal($"it was issued by '{other.Certificate.Subject}', not by this cluster's CA '{_ca.Certificate.Subject}'", verdict.Reason);
    }

    [Fact]
    public void ACertificateOfAnotherCaWithTheSameNameIsRefused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(_ca.Certificate.SubjectName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var impostor = DevCertificateAuthority.From(request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(10)));
        using var trainer = impostor.Issue(CertificateRole.Trainer, Now, Year);

        var verdict = _validator.Validate(trainer, CertificateRole.Trainer);

        Assert.False(verdict.Accepted);
        Assert.Contains("this cluster's CA", verdict.Reason);
    }

    [Fact]
    public void ASelfSignedCertificateIsRefused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gencluster-trainer, O=GenCluster", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(CertificateRoles.ClientAuthentication)], false));
        using var selfSigned = request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(10));

        var verdict = _validator.Validate(selfSigned, CertificateRole.Trainer);

        Assert.False(verdict.Accepted);
        Assert.Equal($"it is self-signed, not issued by this cluster's CA '{_ca.Certificate.Subject}'", verdict.Reason);
    }

    [Fact]
    public void AnExpiredCertificateIsRefusedWithItsExpiry()
    {
        using var old = _ca.Issue(CertificateRole.Trainer, Now.AddDays(-10), TimeSpan.FromDays(1));

        var verdict = _validator.Validate(old, CertificateRole.Trainer);

        Assert.False(verdict.Accepted);
        Assert.Equal($"it expired at {Now.AddDays(-9):u}", verdict.Reason);
    }

    [Fact]
    public void ACertificateIsRefusedBeforeItsValidityStartsAndAcceptedOnceItHas()
    {
        using var early = _ca.Issue(CertificateRole.Trainer, Now.AddDays(2), Year);

        Assert.Equal(PeerVerdict.Refuse($"it is not valid before {Now.AddDays(2) - DevCertificateAuthority.ClockSkew:u}"),
            _validator.Validate(early, CertificateRole.Trainer));
        _time.Advance(TimeSpan.FromDays(2));
        Assert.True(_validator.Validate(early, CertificateRole.Trainer).Accepted);
    }

    [Fact]
    public void TheCaCertificateItselfIsNoPeersCertificate()
    {
        var verdict = _validator.Validate(_ca.Certificate, CertificateRole.Silo);

        Assert.Equal(PeerVerdict.Refuse("it is a CA certificate, not a silo's or a trainer's"), verdict);
    }

    [Fact]
    public void NoCertificateIsRefused() =>
        Assert.Equal(PeerVerdict.Refuse("no certificate was presented"), _validator.Validate(null, CertificateRole.Trainer));

    [Fact]
    public void AnyOfSeveralCasIsTrusted()
    {
        using var next = DevCertificateAuthority.Create(Now, Year);
        using var trainer = next.Issue(CertificateRole.Trainer, Now, Year);
        var both = new PeerCertificateValidator([_ca.Certificate, next.Certificate], _time);

        Assert.True(both.Validate(trainer, CertificateRole.Trainer).Accepted);
        Assert.False(_validator.Validate(trainer, CertificateRole.Trainer).Accepted);
    }
}
