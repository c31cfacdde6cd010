using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public sealed class HostGroupsTests
{
    private static string At(string host, int port) => $"http://{host}:{port}";

    [Fact]
    public void RanksGroupByAddressInOrderOfTheirFirstRankAndTheLowestRankLeads()
    {
        var groups = HostGroups.Of([At("10.0.0.2", 7201), At("10.0.0.1", 7201), At("10.0.0.2", 7202), At("10.0.0.1", 7202), At("10.0.0.3", 7201)]);

        Assert.Equal([[0, 2], [1, 3], [4]], groups.Groups.Select(g => g.ToArray()).ToArray());
        Assert.Equal([0, 1, 4], groups.Leaders);
        Assert.Equal(1, groups.GroupOf(3));
        Assert.Equal([1, 3], groups.HostOf(3));
        Assert.Equal(1, groups.LocalIndexOf(3));
        Assert.Equal(0, groups.LocalIndexOf(1));
        Assert.True(groups.IsLeader(1));
        Assert.False(groups.IsLeader(2));
        Assert.True(groups.Hierarchical);
        Assert.False(groups.OneHost);
        Assert.False(groups.Uniform);
        Assert.Equal([0, 1, 4], groups.Lane(0));
    }

    [Fact]
    public void HostsOfEqualSizeFormOneLanePerRankOfAHost()
    {
        var groups = HostGroups.Of([At("10.0.0.1", 1), At("10.0.0.2", 1), At("10.0.0.1", 2), At("10.0.0.2", 2), At("10.0.0.1", 3), At("10.0.0.2", 3)]);

        Assert.True(groups.Uniform);
        Assert.Equal([0, 1], groups.Lane(0));
        Assert.Equal([2, 3], groups.Lane(1));
        Assert.Equal([4, 5], groups.Lane(2));
        Assert.Equal(2, groups.LocalIndexOf(5));
    }

    [Theory]
    [InlineData(new[] { "10.0.0.1", "10.0.0.1", "10.0.0.1" }, true, false)]
    [InlineData(new[] { "10.0.0.1", "10.0.0.2", "10.0.0.3" }, false, false)]
    [InlineData(new[] { "10.0.0.1", "10.0.0.2", "10.0.0.1" }, false, true)]
    [InlineData(new[] { "10.0.0.1" }, true, false)]
    public void HierarchicalOnlyWhenSeveralHostsAndSomeHostHoldsSeveralRanks(string[] hosts, bool oneHost, bool hierarchical)
    {
        var groups = HostGroups.Of([.. hosts.Select((h, i) => At(h, 7000 + i))]);

        Assert.Equal(oneHost, groups.OneHost);
        Assert.Equal(hierarchical, groups.Hierarchical);
    }

    [Fact]
    public void HostNamesAreHostsOfTheirOwnAndMappedAddressesMatchTheirIPv4()
    {
        var groups = HostGroups.Of([At("gpu1", 1), At("gpu1", 2), At("[::ffff:10.0.0.1]", 3), At("10.0.0.1", 4), "not a uri"]);

        Assert.Equal([[0], [1], [2, 3], [4]], groups.Groups.Select(g => g.ToArray()).ToArray());
    }

    [Fact]
    public void UnixSocketQueriesDoNotSplitAHost()
    {
        var groups = HostGroups.Of([
            RingPeerAddress.Format(At("10.0.0.1", 1), "/run/a.sock"),
            At("10.0.0.1", 2),
            RingPeerAddress.Format(At("10.0.0.2", 1), "/run/b.sock"),
        ]);

        Assert.Equal([[0, 1], [2]], groups.Groups.Select(g => g.ToArray()).ToArray());
    }
}
