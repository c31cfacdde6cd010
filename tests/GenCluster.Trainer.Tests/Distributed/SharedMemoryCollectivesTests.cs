using System.Diagnostics;
using GenCluster.Trainer.Distributed;
using Xunit.Abstractions;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>
/// Ranks on one host agree to share memory and then exchange through it: every collective gives the sum in rank order,
/// bit for bit, on every rank, across pieces of a slot; failures name the rank that caused them, and fast.
/// </summary>
public class SharedMemoryCollectivesTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>128 KiB frames: 512 KiB slots, so that long buffers take several pieces and each piece is reduced in shares.</summary>
    private static void LargeSlots(RingOptions o)
    {
        o.FrameBytes = 128 * 1024;
        o.CollectiveTimeout = Deadline;
    }

    /// <summary>1 KiB frames: 4 KiB slots of 1024 floats, so even short buffers take several pieces.</summary>
    private static void SmallSlots(RingOptions o)
    {
        o.FrameBytes = 1024;
        o.CollectiveTimeout = Deadline;
    }

    private static float[][] Inputs(int n, int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    /// <summary>x0 + x1 + ... in float, in rank order: what every rank must hold, to the bit.</summary>
    private static float[] RankOrderSum(float[][] inputs, bool mean)
    {
        var sum = (float[])inputs[0].Clone();
        for (var k = 1; k < inputs.Length; k++)
        {
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += inputs[k][i];
            }
        }

        if (mean)
        {
            var scale = 1f / inputs.Length;
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] *= scale;
            }
        }

        return sum;
    }

    [Theory]
    [InlineData(2, 300_007, true)]
    [InlineData(3, 300_007, true)]
    [InlineData(2, 5_001, false)]
    [InlineData(4, 5_001, false)]
    [InlineData(3, 1, false)]
    [InlineData(2, 0, false)]
    public async Task AllReduceGivesEveryRankTheRankOrderSumBitForBit(int n, int length, bool largeSlots)
    {
        await using var cluster = await RingCluster.StartAsync(n, largeSlots ? LargeSlots : SmallSlots);
        foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Average })
        {
            var inputs = Inputs(n, length, 11 + n);
            var expected = RankOrderSum(inputs, op == ReduceOp.Average);
            var buffers = inputs.Select(x => (float[])x.Clone()).ToArray();

            await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], op));

            Assert.All(cluster.Ranks, rank => Assert.True(rank.UsesSharedMemory));
            for (var r = 0; r < n; r++)
            {
                Assert.Equal(expected, buffers[r]);
            }
        }
    }

    [Theory]
    [InlineData(2, 300_007, true)]
    [InlineData(3, 10_007, false)]
    public async Task ShardsBroadcastAndValuesMatchTheirDefinitions(int n, int length, bool largeSlots)
    {
        await using var cluster = await RingCluster.StartAsync(n, largeSlots ? LargeSlots : SmallSlots);
        var inputs = Inputs(n, length, 5);
        var expected = RankOrderSum(inputs, mean: true);

        // Reduce-scatter: each rank's shard holds the mean, bit for bit as the all-reduce gives it.
        var scattered = inputs.Select(x => (float[])x.Clone()).ToArray();
        await cluster.OnAll((rank, r) => rank.ReduceScatterAsync(scattered[r], ReduceOp.Average));
        var layout = new ShardLayout(length, n);
        for (var r = 0; r < n; r++)
        {
            var (start, count) = layout.Shard(r);
            Assert.Equal(expected.AsSpan(start, count).ToArray(), scattered[r].AsSpan(start, count).ToArray());
        }

        // All-gather: every rank ends with every rank's shard, which is the whole mean.
        await cluster.OnAll((rank, r) => rank.AllGatherAsync(scattered[r]));
        Assert.All(scattered, buffer => Assert.Equal(expected, buffer));

        // Broadcast from rank 1: every rank ends with rank 1's buffer.
        var broadcast = inputs.Select(x => (float[])x.Clone()).ToArray();
        await cluster.OnAll((rank, r) => rank.BroadcastAsync(broadcast[r], root: 1));
        Assert.All(broadcast, buffer => Assert.Equal(inputs[1], buffer));

        // Small values, of different lengths per rank, indexed by rank.
        var gathered = await cluster.OnAll((rank, r) => rank.AllGatherAsync(Enumerable.Range(0, r + 1).Select(i => (r * 10.0) + i + 0.5).ToArray()));
        Assert.All(gathered, all => Assert.Equal(
            Enumerable.Range(0, n).Select(r => Enumerable.Range(0, r + 1).Select(i => (r * 10.0) + i + 0.5).ToArray()), all));

        await cluster.OnAll((rank, _) => rank.BarrierAsync());
        Assert.All(cluster.Ranks, rank => Assert.True(rank.UsesSharedMemory));
    }

    [Fact]
    public async Task ARankSetToSocketsKeepsTheWholeRoundOnTheRing()
    {
        var nodes = new List<RingNode>
        {
            await RingNode.StartAsync(SmallSlots),
            await RingNode.StartAsync(o => { SmallSlots(o); o.SameHostTransport = "unix"; }),
            await RingNode.StartAsync(SmallSlots),
        };
        var peers = nodes.Select(x => x.Endpoint).ToList();
        await using var cluster = new RingCluster(nodes, nodes.Select((node, rank) => node.Factory.Create(RingCluster.Job, 1, rank, peers, RingCluster.Secret)).ToList());
        var inputs = Inputs(3, 4_099, 2);
        var buffers = inputs.Select(x => (float[])x.Clone()).ToArray();

        await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Sum));

        Assert.All(cluster.Ranks, rank => Assert.False(rank.UsesSharedMemory));
        var exact = Enumerable.Range(0, 4_099).Select(i => inputs.Sum(x => (double)x[i])).ToArray();
        Assert.All(buffers, buffer => Assert.All(Enumerable.Range(0, 4_099), i => Assert.InRange(Math.Abs(exact[i] - buffer[i]), 0, 1e-5)));
    }

    [Fact]
    public async Task RanksThatCallDifferentLengthsFailNamingEachOther()
    {
        await using var cluster = await RingCluster.StartAsync(2, SmallSlots);
        await cluster.OnAll((rank, _) => rank.BarrierAsync());

        var failures = await cluster.OnAll((rank, r) => Assert.ThrowsAsync<PeerFailedException>(() => rank.AllReduceAsync(new float[10 + r], ReduceOp.Sum)));

        foreach (var failure in failures)
        {
            output.WriteLine(failure.Message);
            Assert.Contains("different collectives or lengths", failure.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, failures[0].PeerRank);
        Assert.Contains("all-reduce (sum) #1 of 11 floats", failures[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARankThatLeavesFailsItsPeerAtOnceNamingIt()
    {
        await using var cluster = await RingCluster.StartAsync(3, SmallSlots);
        await cluster.OnAll((rank, _) => rank.AllReduceAsync(new float[100], ReduceOp.Sum));

        await cluster.Ranks[2].DisposeAsync();
        var watch = Stopwatch.StartNew();
        var failures = await Task.WhenAll(cluster.Ranks.Take(2).Select(rank => Task.Run(() => Assert.ThrowsAsync<PeerFailedException>(() => rank.AllReduceAsync(new float[100], ReduceOp.Sum)))));
        watch.Stop();

        foreach (var failure in failures)
        {
            output.WriteLine(failure.Message);
            Assert.Equal(2, failure.PeerRank);
            Assert.Equal(cluster.Nodes[2].Endpoint, failure.PeerEndpoint);
            Assert.Equal(1, failure.Sequence);
            Assert.Contains("rank 2", failure.Message, StringComparison.Ordinal);
            Assert.Contains("left the round", failure.Message, StringComparison.Ordinal);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}, the deadline is {Deadline}");
    }

    [Fact]
    public async Task APeerThatNeverArrivesTimesOutNamingItAndTheOthersLearnWhy()
    {
        var deadline = TimeSpan.FromSeconds(1);
        await using var cluster = await RingCluster.StartAsync(3, o => (o.FrameBytes, o.CollectiveTimeout) = (1024, deadline));
        await cluster.OnAll((rank, _) => rank.BarrierAsync());

        // Rank 2 never calls: ranks 0 and 1 time out naming it, within the deadline.
        var watch = Stopwatch.StartNew();
        var failures = await Task.WhenAll(cluster.Ranks.Take(2).Select(rank => Task.Run(() => Assert.ThrowsAnyAsync<CollectiveException>(() => rank.AllReduceAsync(new float[100], ReduceOp.Sum)))));
        watch.Stop();

        foreach (var failure in failures)
        {
            output.WriteLine(failure.Message);
            Assert.Equal(2, failure.PeerRank);
            Assert.Contains("rank 2", failure.Message, StringComparison.Ordinal);
        }

        Assert.Contains(failures, f => f is CollectiveTimeoutException && f.Message.Contains("within 1 s", StringComparison.Ordinal));
        Assert.InRange(watch.Elapsed, deadline - TimeSpan.FromMilliseconds(100), deadline + TimeSpan.FromSeconds(2));

        // Rank 2, arriving late, learns from their abort flags who failed instead of waiting out its own deadline. (Its first
        // call may still complete: the others posted their parts before they gave up.)
        var late = Stopwatch.StartNew();
        var failure2 = await Assert.ThrowsAsync<PeerFailedException>(async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                await cluster.Ranks[2].AllReduceAsync(new float[100], ReduceOp.Sum);
            }
        });
        output.WriteLine(failure2.Message);
        Assert.Equal(2, failure2.PeerRank);
        Assert.Contains("reported by rank", failure2.Message, StringComparison.Ordinal);
        Assert.True(late.Elapsed < deadline, $"took {late.Elapsed}");
    }

    [Fact]
    public async Task ACancelledRankFailsItsPeersNamingIt()
    {
        await using var cluster = await RingCluster.StartAsync(2, SmallSlots);
        await cluster.OnAll((rank, _) => rank.BarrierAsync());

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cluster.Ranks[1].AllReduceAsync(new float[100], ReduceOp.Sum, cancel.Token));

        // Rank 1 posted its part before it gave up, so rank 0's first call may still complete; the next cannot.
        var watch = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<PeerFailedException>(async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                await cluster.Ranks[0].AllReduceAsync(new float[100], ReduceOp.Sum);
            }
        });
        output.WriteLine(failure.Message);
        Assert.Equal(1, failure.PeerRank);
        Assert.Contains("rank 1 cancelled all-reduce #1", failure.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task APeerWhoseProcessExitedFailsTheWaitAtOnceNamingIt()
    {
        var token = 0x1234_5678_9abc_def0UL;
        var path = Path.Combine(SharedMemorySegment.Directory, $"gencluster-test-{Guid.NewGuid():N}");
        var segment0 = SharedMemorySegment.Create(path, 2, 64 * 1024, token);
        var segment1 = SharedMemorySegment.TryOpen(path, 2, token, out var reason) ?? throw new InvalidOperationException(reason);
        SharedMemorySegment.TryDelete(path);
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        var peers = new[] { "http://127.0.0.1:1", "http://127.0.0.1:2" };
        using var rank0 = new SharedMemoryCollectives(segment0, 0, peers, "job-x", 3);
        using var rank1 = new SharedMemoryCollectives(segment1, 1, peers, "job-x", 3, new PeerProcess(sleeper.Id, PeerProcess.StartTimeOf(sleeper.Id)!.Value));
        rank0.LearnPeers();
        Assert.Equal(1, rank0.WatchedPeers);

        sleeper.Kill();
        await sleeper.WaitForExitAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watch = Stopwatch.StartNew();
        var failure = Assert.Throws<PeerFailedException>(() => rank0.Barrier(new SharedWait("barrier", 7, TimeSpan.FromSeconds(30), default, deadline.Token)));
        watch.Stop();

        output.WriteLine(failure.Message);
        Assert.Equal(1, failure.PeerRank);
        Assert.Equal(7, failure.Sequence);
        Assert.Contains($"its process {sleeper.Id} exited", failure.Message, StringComparison.Ordinal);
        Assert.Contains("barrier #7 on rank 0 of job job-x round 3", failure.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task DisposingARankWhileItWaitsFailsTheWaitAndUnmapsOnlyAfterIt()
    {
        var path = Path.Combine(SharedMemorySegment.Directory, $"gencluster-test-{Guid.NewGuid():N}");
        var segment0 = SharedMemorySegment.Create(path, 2, 64 * 1024, token: 9);
        var segment1 = SharedMemorySegment.TryOpen(path, 2, token: 9, out var reason) ?? throw new InvalidOperationException(reason);
        SharedMemorySegment.TryDelete(path);
        var peers = new[] { "http://127.0.0.1:1", "http://127.0.0.1:2" };
        var rank0 = new SharedMemoryCollectives(segment0, 0, peers, "job-x", 1);
        using var rank1 = new SharedMemoryCollectives(segment1, 1, peers, "job-x", 1);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var wait = new SharedWait("all-reduce", 0, TimeSpan.FromSeconds(30), default, deadline.Token);

        // Rank 0 waits for rank 1, which never calls; the round ends under it (its ring is disposed on another thread).
        var waiting = Task.Run(() => rank0.AllReduce(new float[1000], ReduceOp.Sum, wait));
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        var watch = Stopwatch.StartNew();
        rank0.Dispose();

        var failure = await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
        output.WriteLine(failure.Message);
        Assert.Contains("this rank left the round while waiting for rank 1", failure.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        Assert.Throws<ObjectDisposedException>(() => rank0.Barrier(wait));
        // Rank 1, arriving late, still completes the all-reduce rank 0 posted its part to; then sees rank 0 gone at once.
        rank1.AllReduce(new float[1000], ReduceOp.Sum, wait);
        var gone = Assert.Throws<PeerFailedException>(() => rank1.Barrier(wait with { Collective = "barrier", Sequence = 1 }));
        Assert.Contains("rank 0 (http://127.0.0.1:1) failed: it left the round", gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRoundLeavesNothingInDevShm()
    {
        const long round = 424_242;
        await using (var cluster = await RingCluster.StartAsync(3, SmallSlots, round))
        {
            await cluster.OnAll((rank, r) => rank.AllReduceAsync(new float[10_000], ReduceOp.Sum));
            Assert.All(cluster.Ranks, rank => Assert.True(rank.UsesSharedMemory));
            Assert.Empty(Segments());
        }

        Assert.Empty(Segments());

        static string[] Segments() => Directory.GetFiles(SharedMemorySegment.Directory, $"gencluster-ring-*-{round}-{Environment.ProcessId}-*");
    }

    [Fact]
    public void ASegmentIsOpenedOnlyForItsRoundAndWorldSize()
    {
        var path = Path.Combine(SharedMemorySegment.Directory, $"gencluster-test-{Guid.NewGuid():N}");
        using var segment = SharedMemorySegment.Create(path, 3, 8192, token: 42);
        try
        {
            Assert.Null(SharedMemorySegment.TryOpen(path, 3, token: 43, out var reason));
            Assert.Contains("another round's token", reason, StringComparison.Ordinal);
            Assert.Null(SharedMemorySegment.TryOpen(path, 2, token: 42, out reason));
            Assert.Contains("is for 3 ranks, this round has 2", reason, StringComparison.Ordinal);
            Assert.Null(SharedMemorySegment.TryOpen(path + "-missing", 3, token: 42, out reason));
            Assert.Contains("cannot open", reason, StringComparison.Ordinal);
            using var opened = SharedMemorySegment.TryOpen(path, 3, token: 42, out reason);
            Assert.NotNull(opened);
            Assert.Null(reason);
            Assert.Equal(8192, opened.SlotBytes);
            Assert.Throws<IOException>(() => SharedMemorySegment.Create(path, 3, 8192, token: 42));
        }
        finally
        {
            SharedMemorySegment.TryDelete(path);
        }

        var notASegment = Path.Combine(SharedMemorySegment.Directory, $"gencluster-test-{Guid.NewGuid():N}");
        File.WriteAllBytes(notASegment, new byte[8192]);
        try
        {
            Assert.Null(SharedMemorySegment.TryOpen(notASegment, 3, token: 42, out var reason));
            Assert.Contains("is not a ring segment", reason, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(notASegment);
        }
    }

    [Theory]
    [InlineData(new[] { "http://127.0.0.1:5000", "http://127.0.0.1:5001?uds=/tmp/a.sock" }, true)]
    [InlineData(new[] { "http://10.77.0.11:5000", "http://10.77.0.12:5000" }, false)]
    [InlineData(new[] { "http://10.77.0.11:5000", "http://10.77.0.11:5001", "http://10.77.0.12:5000" }, false)]
    public void OnlyRanksAdvertisingOneAddressTryToShareMemory(string[] peers, bool oneHost) =>
        Assert.Equal(oneHost, HostGroups.Of(peers).OneHost);

    [Fact]
    public async Task LivenessTellsARunningProcessFromOneThatExited()
    {
        Assert.True(PeerProcess.Self.Checkable);
        Assert.True(PeerProcess.Self.IsAlive());
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        var peer = new PeerProcess(sleeper.Id, PeerProcess.StartTimeOf(sleeper.Id)!.Value);
        Assert.True(peer.IsAlive());
        Assert.False((peer with { StartTime = peer.StartTime + 1 }).IsAlive());

        sleeper.Kill();
        await sleeper.WaitForExitAsync();

        Assert.False(peer.IsAlive());
    }
}
