using System.Net;
using GenCluster.Trainer.Cli;

namespace GenCluster.Trainer.Tests.Cli;

public class BenchHostTests
{
    [Fact]
    public void OneNamespaceAndAddressPerRankInRankOrder()
    {
        var hosts = BenchHost.ParseList("gcn-gpu1=10.77.0.11, gcn-gpu2=10.77.0.12", 2, "--hosts");

        Assert.Equal([new BenchHost("gcn-gpu1", IPAddress.Parse("10.77.0.11")), new BenchHost("gcn-gpu2", IPAddress.Parse("10.77.0.12"))], hosts);
    }

    [Theory]
    [InlineData("gcn-gpu1=10.77.0.11", 2, "expected one netns=ip entry per rank (2), got 1")]
    [InlineData("gcn-gpu1=10.77.0.11,gcn-gpu2", 2, "expected netns=ip")]
    [InlineData("gcn gpu1=10.77.0.11,b=10.77.0.12", 2, "a namespace name of letters")]
    [InlineData("a=10.77.0.300,b=10.77.0.12", 2, "'10.77.0.300' in 'a=10.77.0.300' is not an IP address")]
    public void BadListsNameTheOptionAndTheEntry(string text, int ranks, string message)
    {
        var error = Assert.Throws<FormatException>(() => BenchHost.ParseList(text, ranks, "--hosts"));

        Assert.StartsWith("--hosts: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
