using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Training;

public class GradientBucketsTests
{
    [Fact]
    public async Task WithBucketsInFlightTheAverageIsLaunchedAtOnceAndCompletedLater()
    {
        using var scope = NewDisposeScope();
        var (parameters, buckets) = TwoBuckets();
        using var _ = buckets;
        var peer = new GatedPeer();
        buckets.BeginInFlight(new OrderedCollectives(peer), CancellationToken.None);

        // Both buckets are launched behind the gate; the launch does not wait for them.
        var pending = buckets.BeginAverage(peer, rank: 0, localBad: false, CancellationToken.None);
        await peer.Calls.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(peer.Finished);
        Assert.All(parameters, p => Assert.Equal(2f, p.grad!.mean().item<float>()));

        peer.Open();
        var average = pending.Complete();
        // (2 + the peer's 4) / 2 in every gradient, written back only by Complete; no rank flagged.
        Assert.All(parameters, p => Assert.Equal(3f, p.grad!.mean().item<float>()));
        Assert.Empty(average.FlaggedRanks);
        Assert.Equal(2, peer.AllReduces);
        Assert.Throws<InvalidOperationException>(() => pending.Complete());
    }

    [Fact]
    public void WithoutBucketsInFlightTheLaunchAllReducesBeforeItReturns()
    {
        using var scope = NewDisposeScope();
        var (parameters, buckets) = TwoBuckets();
        using var _ = buckets;
        var peer = new GatedPeer();
        peer.Open();

        var pending = buckets.BeginAverage(peer, rank: 0, localBad: false, CancellationToken.None);
        Assert.Equal(2, peer.AllReduces);
        Assert.True(peer.Finished);
        pending.Complete();
        Assert.All(parameters, p => Assert.Equal(3f, p.grad!.mean().item<float>()));
    }

    /// <summary>Two parameters whose gradients are all 2, in one bucket each (the second with the flags of two ranks).</summary>
    private static (Parameter[] Parameters, GradientBuckets Buckets) TwoBuckets()
    {
        Parameter[] parameters = [new Parameter(ones(8)), new Parameter(ones(8))];
        foreach (var p in parameters) p.mul(2).sum().backward();
        return (parameters, new GradientBuckets(parameters, bucketBytes: 8 * sizeof(float), flagSlots: 2));
    }

    /// <summary>Rank 0 of two, whose peer's gradients are all 4 and flags 0; every all-reduce waits for <see cref="Open"/>.</summary>
    private sealed class GatedPeer : ICollectives
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _allReduces;
        private int _finished;

        public int Rank => 0;
        public int WorldSize => 2;
        public int AllReduces => Volatile.Read(ref _allReduces);
        public bool Finished => Volatile.Read(ref _finished) > 0;

        /// <summary>Completes when the first all-reduce has been called.</summary>
        public Task Calls => _called.Task;
        private readonly TaskCompletionSource _called = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _gate.TrySetResult();

        public async Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default)
        {
            Assert.Equal(ReduceOp.Average, op);
            Interlocked.Increment(ref _allReduces);
            _called.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            var span = buffer.Span;
            // Flag slots (the last bucket's tail) are 0 on both ranks; gradients are 2 here and 4 on the peer.
            for (var i = 0; i < span.Length; i++) span[i] = span[i] == 0 ? 0 : (span[i] + 4) / 2;
            Interlocked.Increment(ref _finished);
        }

        public Task ReduceScatterAsync(Memory<float> buffer, ReduceOp op, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task AllGatherAsync(Memory<float> buffer, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task BarrierAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<double[][]> AllGatherAsync(ReadOnlyMemory<double> values, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
