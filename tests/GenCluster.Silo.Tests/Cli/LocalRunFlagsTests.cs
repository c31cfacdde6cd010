namespace GenCluster.Silo.Tests.Cli;

public class LocalRunFlagsTests
{
    [Fact]
    public void LocalRejectsImpossibleFlagsNamingEach()
    {
        var (code, output) = GenClusterCliTests.RunCli("local", "--workers", "0", "--batch", "0", "--width", "2");
        Assert.Equal(2, code);
        Assert.Contains("--workers must be 1..8 on one machine (got 0)", output);
        Assert.Contains("--batch must be >= 1 (got 0)", output);
        Assert.Contains("--width must be 4..512 (got 2)", output);
    }

    [Fact]
    public void ChaosSharesTheLocalFlagsAndNeedsTwoWorkers()
    {
        var (code, output) = GenClusterCliTests.RunCli("chaos", "--workers", "1", "--steps", "0");
        Assert.Equal(2, code);
        Assert.Contains("--workers must be >= 2 for chaos (got 1)", output);
        Assert.Contains("--steps must be >= 1 (got 0)", output);
    }
}
