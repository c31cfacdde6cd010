using GenCluster.Grains;
using GenCluster.Silo.Hosting;

namespace GenCluster.Silo.Tests.Hosting;

public class SiloHostOptionsValidatorTests
{
    [Fact]
    public void DefaultsAreValid()
    {
        Assert.True(new SiloHostOptionsValidator().Validate(null, new SiloHostOptions()).Succeeded);
        Assert.True(new ControlPlaneOptionsValidator().Validate(null, new ControlPlaneOptions()).Succeeded);
    }

    [Fact]
    public void MessagesNameTheConfigurationKeyAndTheValue()
    {
        var result = new SiloHostOptionsValidator().Validate(null, new SiloHostOptions
        {
            HttpPort = 0, SiloPort = 5000, GatewayPort = 5000, Clustering = ClusteringMode.Redis, Redis = "nohost",
        });
        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains("Silo:HttpPort must be in 1..65535, got 0", failures);
        Assert.Contains(failures, f => f.StartsWith("Silo:HttpPort, SiloPort and GatewayPort must differ"));
        Assert.Contains("Silo:Redis must be host:port in Redis mode, got 'nohost'", failures);

        var cp = new ControlPlaneOptionsValidator().Validate(null, new ControlPlaneOptions { LeaseSeconds = 0, PreemptionDrainSeconds = -1 });
        Assert.Contains(cp.Failures!, f => f.StartsWith("ControlPlane:LeaseSeconds must be in (0, 3600], got 0"));
        Assert.Contains(cp.Failures!, f => f.StartsWith("ControlPlane:PreemptionDrainSeconds must be in [0, 3600], got -1"));
    }

    [Fact]
    public void TheSiloVerbRefusesInvalidOptionsNamingTheKey()
    {
        var (code, output) = Cli.GenClusterCliTests.RunCli("silo", "--http-port", "70000");
        Assert.NotEqual(0, code);
        Assert.Contains("Silo:HttpPort must be in 1..65535, got 70000", output);
    }
}
