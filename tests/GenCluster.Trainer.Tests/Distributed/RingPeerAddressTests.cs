using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public class RingPeerAddressTests
{
    [Fact]
    public void AnEndpointWithoutASocketReadsAsBefore()
    {
        var address = RingPeerAddress.Parse("http://10.77.0.11:5000");

        Assert.Equal(new RingPeerAddress("http://10.77.0.11:5000", "10.77.0.11", null), address);
    }

    [Theory]
    [InlineData("/run/user/1000/gencluster/ring-5000-42.sock")]
    [InlineData("/tmp/gencluster-0/a b&c=d?e#f%20.sock")]
    public void TheSocketPathTravelsAsAQueryAndReadsBackTheSame(string path)
    {
        var endpoint = RingPeerAddress.Format("http://127.0.0.1:5000", path);

        var address = RingPeerAddress.Parse(endpoint);

        Assert.Equal(new RingPeerAddress("http://127.0.0.1:5000", "127.0.0.1", path), address);
        var uri = new Uri(endpoint);
        Assert.Equal(("http", "127.0.0.1", 5000), (uri.Scheme, uri.Host, uri.Port));
    }

    [Fact]
    public void ThePathStaysReadable()
    {
        Assert.Equal("http://[::1]:7201?uds=/tmp/gencluster-0/ring-7201-9.sock", RingPeerAddress.Format("http://[::1]:7201", "/tmp/gencluster-0/ring-7201-9.sock"));
        Assert.Equal("::1", RingPeerAddress.Parse("http://[::1]:7201?uds=/tmp/x.sock").Host);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000?uds=relative/ring.sock")]
    [InlineData("http://127.0.0.1:5000?uds=")]
    [InlineData("http://127.0.0.1:5000?other=/tmp/x.sock")]
    [InlineData("http://127.0.0.1:5000?uds=%2Ftmp%2F%00.sock")]
    [InlineData("http://127.0.0.1:5000?")]
    public void AQueryWithoutAnAbsoluteSocketPathIsIgnored(string endpoint)
    {
        var address = RingPeerAddress.Parse(endpoint);

        Assert.Equal(("http://127.0.0.1:5000", "127.0.0.1"), (address.TcpEndpoint, address.Host));
        Assert.Null(address.UnixSocketPath);
    }

    [Fact]
    public void OtherParametersBesideTheSocketAreIgnored() =>
        Assert.Equal("/tmp/x.sock", RingPeerAddress.Parse("http://127.0.0.1:5000?v=2&uds=/tmp/x.sock&w=3").UnixSocketPath);

    [Fact]
    public void SomethingThatIsNotAUriComesBackAsItsOwnTcpEndpoint()
    {
        var address = RingPeerAddress.Parse("not an endpoint");

        Assert.Equal(new RingPeerAddress("not an endpoint", null, null), address);
    }

    [Theory]
    [InlineData("http://127.0.0.1:1", "http://127.0.0.1:2?uds=/x", true)]
    [InlineData("http://[::ffff:10.0.0.5]:1", "http://10.0.0.5:2", true)]
    [InlineData("http://127.0.0.1:1", "http://127.0.0.2:2", false)]
    [InlineData("http://10.77.0.11:5000", "http://10.77.0.12:5000", false)]
    [InlineData("http://trainer-0:1", "http://trainer-0:2", false)]
    [InlineData("garbage", "garbage", false)]
    public void OnlyEqualIpAddressesAreTheSameAddress(string a, string b, bool same) =>
        Assert.Equal(same, RingPeerAddress.Parse(a).HasSameAddressAs(RingPeerAddress.Parse(b)));
}
