using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public class RingRouteTests
{
    private const string Socket = "/tmp/gencluster-0/ring-5001-7.sock";

    [Fact]
    public void ASuccessorAtTheSameAddressIsReachedOverItsSocket() =>
        Assert.Equal(Socket, RingRoute.UnixSocketPathTo("http://10.77.0.11:5000", $"http://10.77.0.11:5001?uds={Socket}", new RingOptions()));

    [Theory]
    [InlineData("http://10.77.0.11:5000", "http://10.77.0.12:5001?uds=" + Socket)]
    [InlineData("http://10.77.0.11:5000", "http://10.77.0.11:5001")]
    [InlineData("http://trainer-0:5000", "http://trainer-0:5001?uds=" + Socket)]
    public void OtherwiseTheSuccessorIsReachedOverTcp(string self, string successor) =>
        Assert.Null(RingRoute.UnixSocketPathTo(self, successor, new RingOptions()));

    [Fact]
    public void TheTcpSettingTurnsTheSocketOff() =>
        Assert.Null(RingRoute.UnixSocketPathTo("http://10.77.0.11:5000", $"http://10.77.0.11:5001?uds={Socket}", new RingOptions { SameHostTransport = "tcp" }));

    [Fact]
    public void AFallbackIsReportedOncePerSocket()
    {
        var path = $"/tmp/fallback-{Guid.NewGuid():N}.sock";

        Assert.True(RingRoute.FirstFallbackFrom(path));
        Assert.False(RingRoute.FirstFallbackFrom(path));
    }
}
