using System.CommandLine;
using GenCluster.Contracts.Security;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Tests.Hosting;

/// <summary>A trainer speaks mutual TLS to the gateway unless told otherwise, and does not start without its certificate.</summary>
public sealed class TrainerTlsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-trainer-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WithoutCertificatesOrInsecureTheHostIsNotBuiltAndTheFlagsAreNamed()
    {
        var builder = WebApplication.CreateSlimBuilder();

        var error = Assert.Throws<OptionsValidationException>(() => builder.AddGenClusterTrainer());

        foreach (var name in new[] { "--tls-cert (Tls:CertificateFile)", "--tls-key (Tls:KeyFile)", "--tls-ca (Tls:CaFile)", "--insecure-no-tls" })
            Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRunVerbSaysWhatIsMissingAndExitsWithTwo()
    {
        var output = new StringWriter();

        var code = TrainerCli.Build().Parse(["run"]).Invoke(new InvocationConfiguration { Output = output, Error = output });

        Assert.Equal(2, code);
        Assert.StartsWith("gencluster-trainer run: --tls-cert (Tls:CertificateFile) is not set", output.ToString());
    }

    [Fact]
    public void TheClustersTrainerCertificateIsLoadedAndAForeignOneRefusedNamingTheFile()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = DevCertificateAuthority.Create(now, TimeSpan.FromDays(1));
        using var other = DevCertificateAuthority.Create(now, TimeSpan.FromDays(1));
        var ours = Write("ours", ca, ca);
        var foreign = Write("foreign", other, ca);

        var credentials = TrainerHostingExtensions.ReadTls(Configuration(ours));
        var error = Assert.Throws<ClusterTlsException>(() => TrainerHostingExtensions.ReadTls(Configuration(foreign)));

        Assert.Equal((CertificateRole.Trainer, "CN=gencluster-trainer, O=GenCluster"), (credentials!.Role, credentials.Certificate.Subject));
        Assert.StartsWith($"--tls-cert {foreign.CertificateFile} ('CN=gencluster-trainer, O=GenCluster') would be refused by this cluster's silos", error.Message);
        Assert.Null(TrainerHostingExtensions.ReadTls(Configuration(new ClusterTlsOptions { Insecure = true })));
    }

    [Fact]
    public void TheRunVerbTakesTheTlsFlags()
    {
        var parse = TrainerCli.Build().Parse(["run", "--tls-cert", "t.crt", "--tls-key", "t.key", "--tls-ca", "ca.crt", "--insecure-no-tls", "--connect-timeout-seconds", "5"]);

        Assert.Empty(parse.Errors);
        Assert.True(parse.GetValue<bool>("--insecure-no-tls"));
        Assert.Equal("ca.crt", parse.GetValue<string>("--tls-ca"));
    }

    private ClusterTlsOptions Write(string name, DevCertificateAuthority issuer, DevCertificateAuthority trusted)
    {
        using var trainer = issuer.Issue(CertificateRole.Trainer, DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        var options = new ClusterTlsOptions
        {
            CertificateFile = Path.Combine(_directory, $"{name}.crt"),
            KeyFile = Path.Combine(_directory, $"{name}.key"),
            CaFile = Path.Combine(_directory, $"{name}-ca.crt"),
        };
        PemFiles.WriteCertificate(options.CertificateFile, trainer);
        PemFiles.WritePrivateKey(options.KeyFile, trainer);
        PemFiles.WriteCertificate(options.CaFile, trusted.Certificate);
        return options;
    }

    private static IConfiguration Configuration(ClusterTlsOptions options) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Tls:CertificateFile"] = options.CertificateFile,
        ["Tls:KeyFile"] = options.KeyFile,
        ["Tls:CaFile"] = options.CaFile,
        ["Tls:Insecure"] = options.Insecure.ToString(),
    }).Build();
}
