using GenCluster.Contracts.Security;

namespace GenCluster.Contracts.Tests.Security;

public sealed class ClusterTlsOptionsTests
{
    private static readonly ClusterTlsOptionsValidator Validator = new();

    [Fact]
    public void WithoutFilesOrInsecureEveryMissingFlagIsNamedWithItsKeyAndTheWayOut()
    {
        var result = Validator.Validate(null, new ClusterTlsOptions());

        Assert.True(result.Failed);
        Assert.Equal(
        [
            "--tls-cert (Tls:CertificateFile) is not set: this process's certificate (PEM)",
            "--tls-key (Tls:KeyFile) is not set: its private key (PEM)",
            "--tls-ca (Tls:CaFile) is not set: the cluster's CA certificate (PEM)",
            "Orleans connections use mutual TLS unless --insecure-no-tls (Tls:Insecure) says otherwise; " +
            "`gencluster certs --out <dir>` makes a CA and the silo's and trainers' certificates",
        ], result.Failures);
    }

    [Fact]
    public void OneMissingFileIsNamedAlone()
    {
        var result = Validator.Validate(null, new ClusterTlsOptions { CertificateFile = "silo.crt", CaFile = "ca.crt" });

        Assert.Equal("--tls-key (Tls:KeyFile) is not set: its private key (PEM)", result.Failures!.First());
        Assert.Equal(2, result.Failures!.Count());
    }

    [Fact]
    public void ThreeFilesOrInsecureAloneAreValid()
    {
        Assert.True(Validator.Validate(null, new ClusterTlsOptions { CertificateFile = "a", KeyFile = "b", CaFile = "c" }).Succeeded);
        Assert.True(Validator.Validate(null, new ClusterTlsOptions { Insecure = true }).Succeeded);
    }

    [Fact]
    public void InsecureWithFilesIsAContradiction()
    {
        var result = Validator.Validate(null, new ClusterTlsOptions { Insecure = true, CaFile = "ca.crt" });

        Assert.Equal("--insecure-no-tls (Tls:Insecure) contradicts --tls-cert, --tls-key and --tls-ca: choose one", Assert.Single(result.Failures!));
    }
}
