using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>
/// Base of collective tests that run once per same-host transport: a derived class per transport names it, and every
/// node these helpers start is set to it, so the ring's sockets and shared memory pass the same tests.
/// </summary>
public abstract class OnEachSameHostTransport
{
    /// <summary>How ranks on one host exchange in this run of the tests: <c>unix</c> (the ring's sockets) or <c>shm</c>.</summary>
    protected abstract string SameHostTransport { get; }

    private protected Task<RingCluster> StartCluster(int n, Action<RingOptions>? configure = null, long round = 1) => RingCluster.StartAsync(n, On(configure), round);

    private protected Task<RingNode> StartNode(Action<RingOptions>? configure = null) => RingNode.StartAsync(On(configure));

    private Action<RingOptions> On(Action<RingOptions>? configure) => o =>
    {
        configure?.Invoke(o);
        o.SameHostTransport = SameHostTransport;
    };
}
