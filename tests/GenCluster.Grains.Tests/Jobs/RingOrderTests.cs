using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Grains.Jobs;

namespace GenCluster.Grains.Tests.Jobs;

public class RingOrderTests
{
    private static WorkerInfo On(string id, string host) => new(id, host, $"http://{id}:7000", $"http://{id}:9000", "cpu");

    [Fact]
    public void InterleavedHostsBecomeAdjacentAndOnlyOneLinkPerHostCrosses()
    {
        WorkerInfo[] members = [On("a", "h1"), On("b", "h2"), On("c", "h1"), On("d", "h2"), On("e", "h3")];
        Assert.Equal(5, RingOrder.CrossHostLinks(members.Select(m => m.Host).ToList()));

        var arranged = RingOrder.Arrange(members);

        Assert.Equal(["a", "c", "b", "d", "e"], arranged.Select(m => m.WorkerId));
        Assert.Equal(3, RingOrder.CrossHostLinks(arranged.Select(m => m.Host).ToList()));
    }

    [Fact]
    public void ContiguousHostsAndOneHostKeepTheirOrder()
    {
        WorkerInfo[] contiguous = [On("a", "h1"), On("b", "h1"), On("c", "h2")];
        WorkerInfo[] oneHost = [On("x", "h"), On("y", "h"), On("z", "h")];

        Assert.Equal(contiguous, RingOrder.Arrange(contiguous));
        Assert.Equal(oneHost, RingOrder.Arrange(oneHost));
        Assert.Equal(0, RingOrder.CrossHostLinks(oneHost.Select(m => m.Host).ToList()));
    }

    [Fact]
    public void ARoundGivesRanksInRingOrder()
    {
        var status = JobStateMachine.Submit("20261201-120000-abcdef", new JobSpec { MinWorkers = 4, MaxWorkers = 4 }, "/runs/x", DateTimeOffset.UnixEpoch);

        var formed = JobStateMachine.FormRound(status, [On("a", "h1"), On("b", "h2"), On("c", "h1"), On("d", "h2")], DateTimeOffset.UnixEpoch);

        Assert.Equal([(0, "a"), (1, "c"), (2, "b"), (3, "d")], formed.Rounds[^1].Members.Select(m => (m.Rank, m.WorkerId)));
    }
}
