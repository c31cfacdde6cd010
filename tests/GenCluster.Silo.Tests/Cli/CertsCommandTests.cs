namespace GenCluster.Silo.Tests.Cli;

/// <summary><c>gencluster certs</c> writes a CA and certificates, says what it wrote, and keeps an existing CA.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CertsCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-certs-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WritesTheFilesPrintsThemAndTheFlagsThenRefusesToReplaceTheCa()
    {
        var dir = Path.Combine(_directory, "certs");

        var (code, output) = GenClusterCliTests.RunCli("certs", "--out", dir, "--hosts", "node-a, 10.0.0.5", "--days", "30");

        Assert.Equal(0, code);
        Assert.StartsWith($"gencluster certs: a new CA and its certificates in {dir}, valid until ", output);
        foreach (var file in new[] { "ca.crt", "ca.key", "silo.crt", "silo.key", "trainer.crt", "trainer.key" })
        {
            Assert.True(File.Exists(Path.Combine(dir, file)), file);
            Assert.Contains($"  {file} ", output);
        }
        Assert.Contains("names localhost, 127.0.0.1, node-a, 10.0.0.5", output);
        Assert.Contains($"gencluster silo --tls-cert {dir}/silo.crt --tls-key {dir}/silo.key --tls-ca {dir}/ca.crt", output);
        Assert.Contains($"gencluster-trainer run --tls-cert {dir}/trainer.crt --tls-key {dir}/trainer.key --tls-ca {dir}/ca.crt", output);

        var ca = File.ReadAllText(Path.Combine(dir, "ca.crt"));
        var (again, refusal) = GenClusterCliTests.RunCli("certs", "--out", dir);
        Assert.Equal(2, again);
        Assert.StartsWith($"gencluster certs: {dir}/ca.crt already exists", refusal);
        Assert.Equal(ca, File.ReadAllText(Path.Combine(dir, "ca.crt")));
        Assert.Equal(0, GenClusterCliTests.RunCli("certs", "--out", dir, "--force").ExitCode);
        Assert.NotEqual(ca, File.ReadAllText(Path.Combine(dir, "ca.crt")));
    }

    [Fact]
    public void DaysMustBePositive()
    {
        var (code, output) = GenClusterCliTests.RunCli("certs", "--out", _directory, "--days", "0");

        Assert.Equal(2, code);
        Assert.Equal("gencluster certs: --days must be at least 1, got 0", output.Trim());
        Assert.Empty(Directory.GetFiles(_directory));
    }
}
