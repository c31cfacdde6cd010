using GenCluster.Contracts.Security;
using GenCluster.Silo.Security;

namespace GenCluster.Silo.Tests.Cli;

/// <summary><c>gencluster silo</c> refuses to start without usable tokens or certificates, before Orleans starts.</summary>
public sealed class SiloCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-silo-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private (int ExitCode, string Output) Silo(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        GenClusterCliTests.RunCliWith(environment, ["silo", "--data-dir", Path.Combine(_directory, "data"), .. args]);

    [Fact]
    public void WithoutTokensOrNoAuthTheSiloRefusesToStartNamingTheOptions()
    {
        var (code, output) = Silo(new Dictionary<string, string?>());
        Assert.Equal(2, code);
        Assert.StartsWith("gencluster silo: ", output);
        foreach (var name in new[] { "--token-file", "GENCLUSTER_ADMIN_TOKEN", "--no-auth" }) Assert.Contains(name, output);
        Assert.False(Directory.Exists(Path.Combine(_directory, "data")), "nothing is started or written");
    }

    [Fact]
    public void ABadTokenFileIsNamedWithItsLine()
    {
        var file = Path.Combine(_directory, "tokens");
        File.WriteAllText(file, $"{new string('a', 32)} admin\n{new string('b', 32)} write\n");
        var (code, output) = Silo(new Dictionary<string, string?>(), "--token-file", file);
        Assert.Equal(2, code);
        Assert.Equal($"gencluster silo: {file}:2: scope 'write' is neither read nor admin", output.Trim());
    }

    [Fact]
    public void AWeakAdminTokenInTheVariableIsRefusedWithoutPrintingIt()
    {
        var (code, output) = Silo(new Dictionary<string, string?> { ["GENCLUSTER_ADMIN_TOKEN"] = "letmein" });
        Assert.Equal(2, code);
        Assert.Contains("GENCLUSTER_ADMIN_TOKEN (Auth:AdminToken): the token has 7 characters", output);
        Assert.DoesNotContain("letmein", output);
    }

    [Fact]
    public void WithoutCertificatesOrInsecureTheSiloRefusesToStartNamingTheOptions()
    {
        var (code, output) = Silo(new Dictionary<string, string?>(), "--no-auth");

        Assert.Equal(2, code);
        Assert.StartsWith("gencluster silo: --tls-cert (Tls:CertificateFile) is not set", output);
        foreach (var name in new[] { "--tls-key", "--tls-ca", "--insecure-no-tls", "gencluster certs --out <dir>" }) Assert.Contains(name, output);
        Assert.False(Directory.Exists(Path.Combine(_directory, "data")), "nothing is started or written");
    }

    [Fact]
    public void ACertificateTheCaDidNotSignIsRefusedNamingTheFile()
    {
        var ours = DevCertificateSet.Write(Path.Combine(_directory, "ours"), [], TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
        var theirs = DevCertificateSet.Write(Path.Combine(_directory, "theirs"), [], TimeSpan.FromDays(1), DateTimeOffset.UtcNow);

        var (code, output) = Silo(new Dictionary<string, string?>(), "--no-auth", "--tls-cert", theirs.Certificate(CertificateRole.Silo),
            "--tls-key", theirs.Key(CertificateRole.Silo), "--tls-ca", ours.CaCertificate);

        Assert.Equal(2, code);
        Assert.StartsWith($"gencluster silo: --tls-cert {theirs.Certificate(CertificateRole.Silo)} ('CN=gencluster-silo, O=GenCluster') would be refused", output);
        Assert.Contains("not by this cluster's CA", output);
    }

    [Fact]
    public void InsecureContradictsCertificates()
    {
        var (code, output) = Silo(new Dictionary<string, string?>(), "--no-auth", "--insecure-no-tls", "--tls-ca", "ca.crt");

        Assert.Equal(2, code);
        Assert.Contains("--insecure-no-tls (Tls:Insecure) contradicts --tls-cert, --tls-key and --tls-ca", output);
    }
}
