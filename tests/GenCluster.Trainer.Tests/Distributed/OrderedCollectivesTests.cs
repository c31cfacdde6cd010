using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public class OrderedCollectivesTests
{
    /// <summary>Calls issued back to back start one at a time, in issue order, even when the first takes longest.</summary>
    [Fact]
    public async Task CallsRunOneAtATimeInTheOrderTheyWereIssued()
    {
        var inner = new Recording();
        var ordered = new OrderedCollectives(inner);
        var buffers = Enumerable.Range(0, 6).Select(i => new float[] { i }).ToArray();
        // The first call is the slowest: without the chain the later ones would overtake it.
        var tasks = buffers.Select(b => ordered.AllReduceAsync(b, ReduceOp.Sum)).ToList();
        tasks.Add(ordered.BarrierAsync());
        await Task.WhenAll(tasks);

        Assert.Equal(["all-reduce 0", "all-reduce 1", "all-reduce 2", "all-reduce 3", "all-reduce 4", "all-reduce 5", "barrier"], inner.Started);
        Assert.Equal(1, inner.MaxConcurrent);
        Assert.True(ordered.Drain().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task AFailedCallFailsTheCallsQueuedBehindItWithTheSameError()
    {
        var inner = new Recording { FailOn = 1 };
        var ordered = new OrderedCollectives(inner);
        var first = ordered.AllReduceAsync(new float[] { 0 }, ReduceOp.Sum);
        var failing = ordered.AllReduceAsync(new float[] { 1 }, ReduceOp.Sum);
        var behind = ordered.AllReduceAsync(new float[] { 2 }, ReduceOp.Sum);

        await first;
        var error = await Assert.ThrowsAsync<PeerFailedException>(() => failing);
        var queued = await Assert.ThrowsAsync<PeerFailedException>(() => behind);
        Assert.Same(error, queued);
        Assert.Equal(3, queued.PeerRank);
        Assert.Equal(["all-reduce 0", "all-reduce 1"], inner.Started);
    }

    private sealed class Recording : ICollectives
    {
        private int _running;

        public List<string> Started { get; } = [];
        public int MaxConcurrent { get; private set; }
        public int FailOn { get; init; } = -1;

        public int Rank => 0;
        public int WorldSize => 2;

        public async Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default)
        {
            var index = (int)buffer.Span[0];
            await Run($"all-reduce {index}", TimeSpan.FromMilliseconds(index == 0 ? 100 : 1));
            if (index == FailOn) throw new PeerFailedException("rank 3 vanished", "all-reduce", index, 3, "http://10.0.0.3:5000", null);
        }

        public Task BarrierAsync(CancellationToken cancellationToken = default) => Run("barrier", TimeSpan.Zero);

        public Task ReduceScatterAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task AllGatherAsync(Memory<float> buffer, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<double[][]> AllGatherAsync(ReadOnlyMemory<double> values, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        private async Task Run(string name, TimeSpan duration)
        {
            lock (Started) Started.Add(name);
            MaxConcurrent = Math.Max(MaxConcurrent, Interlocked.Increment(ref _running));
            await Task.Delay(duration);
            Interlocked.Decrement(ref _running);
        }
    }
}
