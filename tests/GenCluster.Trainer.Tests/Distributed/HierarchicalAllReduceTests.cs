using System.Diagnostics;
using GenCluster.Trainer.Distributed;
using Xunit.Abstractions;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>
/// The two-level all-reduce, with ranks on loopback addresses 127.0.0.1, 127.0.0.2, … standing for hosts: the ranks of
/// one address share memory, the leaders' ring crosses between addresses over TCP.
/// </summary>
public sealed class HierarchicalAllReduceTests(ITestOutputHelper output)
{
    private static void Options(RingOptions o)
    {
        // 64 KiB frames: 256 KiB shared-memory slots, so the larger buffers cross several pieces.
        o.FrameBytes = 64 * 1024;
        o.CollectiveTimeout = TimeSpan.FromSeconds(30);
    }

    public static TheoryData<int[]> Layouts => new()
    {
        { [1, 1, 2, 2] },
        { [1, 2, 1] },
        { [1, 2, 2, 3, 3, 3] },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public async Task SumsAndMeansOverEveryRankOfEveryHostWithTheSameBitsOnAll(int[] hostOfRank)
    {
        var n = hostOfRank.Length;
        await using var cluster = await RingCluster.StartOnHostsAsync(hostOfRank, Options);
        foreach (var length in new[] { 1, 7, 40_003, 300_001 })
        {
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Average })
            {
                var random = new Random(length + n);
                var inputs = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
                var buffers = inputs.Select(x => (float[])x.Clone()).ToArray();

                await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], op));

                for (var i = 0; i < length; i++)
                {
                    var expected = inputs.Sum(x => (double)x[i]) / (op == ReduceOp.Average ? n : 1);
                    Assert.True(Math.Abs(buffers[0][i] - expected) <= 1e-5, $"{op} length {length} element {i}: expected {expected}, got {buffers[0][i]}");
                }

                for (var r = 1; r < n; r++)
                {
                    Assert.Equal(buffers[0], buffers[r]);
                }
            }
        }

        Assert.All(cluster.Ranks, r => Assert.True(r.UsesHostHierarchy, $"rank {r.Rank} did not use the two-level all-reduce"));
        Assert.All(cluster.Ranks, r => Assert.False(r.UsesSharedMemory));
        var groups = HostGroups.Of([.. cluster.Nodes.Select(x => x.Endpoint)]);
        // Hosts of equal size: every rank carries its shard over its lane's ring; else the leaders carry the hosts' sums.
        Assert.All(cluster.Ranks, r => Assert.Equal(groups.Uniform || groups.IsLeader(r.Rank), r.Hierarchy!.Across is not null));
    }

    [Fact]
    public async Task SmallIntegersSumExactlyAndTheOtherCollectivesStillWorkInTheSameRound()
    {
        await using var cluster = await RingCluster.StartOnHostsAsync([1, 1, 2, 2], Options);
        var buffers = Enumerable.Range(0, 4).Select(r => Enumerable.Range(0, 1000).Select(i => (float)(r * 1000 + i)).ToArray()).ToArray();
        await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Sum));
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(6000f + 4 * i, buffers[0][i]);
        }

        var broadcast = Enumerable.Range(0, 4).Select(r => Enumerable.Repeat((float)r, 100).ToArray()).ToArray();
        await cluster.OnAll((rank, r) => rank.BroadcastAsync(broadcast[r], root: 3));
        Assert.All(broadcast, b => Assert.All(b, v => Assert.Equal(3f, v)));

        var gathered = await cluster.OnAll((rank, r) => rank.AllGatherAsync(new double[] { r, r * 10 }));
        Assert.All(gathered, g => Assert.Equal([0d, 10d, 20d, 30d], g.Select(v => v[1])));

        await cluster.OnAll((rank, _) => rank.BarrierAsync());

        var shards = Enumerable.Range(0, 4).Select(_ => Enumerable.Repeat(1f, 103).ToArray()).ToArray();
        await cluster.OnAll((rank, r) => rank.ReduceScatterAsync(shards[r], ReduceOp.Sum));
        await cluster.OnAll((rank, r) => rank.AllGatherAsync(shards[r]));
        Assert.All(shards, s => Assert.All(s, v => Assert.Equal(4f, v)));

        Assert.All(cluster.Ranks, r => Assert.True(r.UsesHostHierarchy));
    }

    [Theory]
    [InlineData(new[] { 1, 1, 2, 2, 2 })]
    [InlineData(new[] { 1, 1, 1, 2, 2, 2 })]
    public async Task BuffersOfSeveralSegmentsPipelineAcrossHostsAndStayExact(int[] hostOfRank)
    {
        // 3 segments of 1 Mi floats and a short fourth: the host reduces segment k+1 while the rings carry segment k.
        const int length = 3 * 1024 * 1024 + 5;
        Assert.Equal(4, (length + HierarchicalAllReduce.SegmentFloats(length) - 1) / HierarchicalAllReduce.SegmentFloats(length));
        var n = hostOfRank.Length;
        await using var cluster = await RingCluster.StartOnHostsAsync(hostOfRank, Options);
        var buffers = Enumerable.Range(0, n).Select(r => Enumerable.Range(0, length).Select(i => (float)((i % 1000) + 2 * r)).ToArray()).ToArray();

        await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Average));

        var mean = n - 1f;
        for (var r = 0; r < n; r++)
        {
            for (var i = 0; i < length; i++)
            {
                if (buffers[r][i] != (i % 1000) + mean)
                {
                    Assert.Fail($"rank {r} element {i}: expected {(i % 1000) + mean}, got {buffers[r][i]}");
                }
            }
        }

        Assert.All(cluster.Ranks, r => Assert.True(r.UsesHostHierarchy));
    }

    [Theory]
    [InlineData(1, 1024 * 1024)]
    [InlineData(4 * 1024 * 1024, 1024 * 1024)]
    [InlineData(64 * 1024 * 1024, 4 * 1024 * 1024)]
    [InlineData(64 * 1024 * 1024 + 1, 4 * 1024 * 1024 + 1)]
    public void SegmentsAreAtLeastOneMebifloatAndAtMostSixteen(int length, int expected) =>
        Assert.Equal(expected, HierarchicalAllReduce.SegmentFloats(length));

    [Fact]
    public async Task WithBf16TheRingsAcrossHostsSendHalfTheBytesAndRanksStillAgree()
    {
        await using var cluster = await RingCluster.StartOnHostsAsync([1, 1, 2, 2], o =>
        {
            Options(o);
            o.UseBf16 = true;
        });
        const int length = 50_000;
        var random = new Random(5);
        var inputs = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() + 0.5)).ToArray()).ToArray();
        var exact = Enumerable.Range(0, length).Select(i => inputs.Sum(x => (double)x[i])).ToArray();

        await cluster.OnAll((rank, r) => rank.AllReduceAsync(inputs[r], ReduceOp.Sum));

        // Within a host the sums are fp32; across hosts each value is rounded to bf16 (8 bits) once or twice.
        var maxRelative = Enumerable.Range(0, length).Max(i => Math.Abs(inputs[0][i] - exact[i]) / exact[i]);
        output.WriteLine($"two levels, bf16 across hosts: max relative error {maxRelative:E3}");
        Assert.InRange(maxRelative, 1e-6, 3 * Math.Pow(2, -8));
        Assert.All(inputs, b => Assert.Equal(inputs[0], b));
        Assert.All(cluster.Ranks, r => Assert.True(r.UsesHostHierarchy));
    }

    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task RanksSetToSocketsStayOnTheFlatRing(string transport)
    {
        await using var cluster = await RingCluster.StartOnHostsAsync([1, 1, 2, 2], o =>
        {
            Options(o);
            o.SameHostTransport = transport;
        });
        var buffers = Enumerable.Range(0, 4).Select(r => Enumerable.Repeat((float)r, 5000).ToArray()).ToArray();

        await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Sum));

        Assert.All(buffers, b => Assert.All(b, v => Assert.Equal(6f, v)));
        Assert.All(cluster.Ranks, r => Assert.False(r.UsesHostHierarchy));
    }

    [Fact]
    public async Task OneRankPerHostIsTheFlatRing()
    {
        await using var cluster = await RingCluster.StartOnHostsAsync([1, 2, 3], Options);
        var buffers = Enumerable.Range(0, 3).Select(r => Enumerable.Repeat((float)r, 10).ToArray()).ToArray();

        await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Sum));

        Assert.All(buffers, b => Assert.All(b, v => Assert.Equal(3f, v)));
        Assert.All(cluster.Ranks, r => Assert.False(r.UsesHostHierarchy || r.UsesSharedMemory));
    }

    [Fact]
    public async Task ARankThatCancelsOnOneHostFailsEveryRankOnEveryHostNamingIt()
    {
        await using var cluster = await RingCluster.StartOnHostsAsync([1, 1, 2, 2], Options);
        await cluster.OnAll((rank, _) => rank.AllReduceAsync(new float[1000], ReduceOp.Sum));

        // Rank 3 (not a leader, on the second host) starts the next all-reduce and gives up while it waits for its host.
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cluster.Ranks[3].AllReduceAsync(new float[100_000], ReduceOp.Sum, cancel.Token));

        // The others then reach it: its host's leader finds it gone, and tells the other host's leader over their ring.
        var watch = Stopwatch.StartNew();
        var others = cluster.Ranks.Take(3).Select(rank => Task.Run(async () =>
            await Assert.ThrowsAnyAsync<CollectiveException>(() => rank.AllReduceAsync(new float[100_000], ReduceOp.Sum)))).ToArray();
        var failures = await Task.WhenAll(others);
        watch.Stop();
        foreach (var failure in failures)
        {
            output.WriteLine(failure.Message);
            Assert.Equal(3, failure.PeerRank);
            Assert.Equal(cluster.Nodes[3].Endpoint, failure.PeerEndpoint);
            Assert.Contains("rank 3", failure.Message, StringComparison.Ordinal);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the others failed after {watch.Elapsed} (deadline 30 s)");
    }

    [Fact]
    public async Task ALeaderThatLeavesFailsTheOtherHostNamingItLongBeforeTheDeadline()
    {
        await using var cluster = await RingCluster.StartOnHostsAsync([1, 1, 2, 2], Options);
        await cluster.OnAll((rank, _) => rank.AllReduceAsync(new float[1000], ReduceOp.Sum));

        // Rank 2 leads the second host; its process "crashes": its ring port and its session go.
        await cluster.Nodes[2].StopAsync();
        await cluster.Ranks[2].DisposeAsync();
        var watch = Stopwatch.StartNew();
        var failures = await Task.WhenAll(new[] { 0, 1, 3 }.Select(r => Task.Run(async () =>
            await Assert.ThrowsAnyAsync<CollectiveException>(() => cluster.Ranks[r].AllReduceAsync(new float[100_000], ReduceOp.Sum)))));
        watch.Stop();

        foreach (var failure in failures)
        {
            output.WriteLine(failure.Message);
            Assert.Equal(2, failure.PeerRank);
            Assert.Contains("rank 2", failure.Message, StringComparison.Ordinal);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the others failed after {watch.Elapsed} (deadline 30 s)");
    }

    [Fact]
    public async Task WhenAHostGoesDarkInAFlatRingCollectiveTheRankAfterItsHostPeerStillNamesTheFarHost()
    {
        // Deadline 2 s (the two-level allowance adds 2 s more; 2 s more again for a rank whose predecessor shares its host).
        await using var cluster = await RingCluster.StartOnHostsAsync([1, 1, 2, 2], o =>
        {
            Options(o);
            o.CollectiveTimeout = TimeSpan.FromSeconds(2);
        });
        await cluster.OnAll((rank, _) => rank.AllReduceAsync(new float[1000], ReduceOp.Sum));

        // The second host goes silent. Rank 1 (whose predecessor, rank 0, is on its host) reaches the all-gather a second
        // before rank 0 (whose predecessor, rank 3, is across the "link"): with equal deadlines it would give up on rank 0
        // first, blaming its own host's peer.
        var early = Task.Run(async () => await Assert.ThrowsAnyAsync<CollectiveException>(() => cluster.Ranks[1].AllGatherAsync(new double[] { 1, 2 })));
        await Task.Delay(TimeSpan.FromSeconds(1));
        var late = Task.Run(async () => await Assert.ThrowsAnyAsync<CollectiveException>(() => cluster.Ranks[0].AllGatherAsync(new double[] { 3, 4 })));
        var failures = await Task.WhenAll(early, late);

        foreach (var failure in failures)
        {
            output.WriteLine(failure.Message);
            Assert.Equal(3, failure.PeerRank);
            Assert.Equal(cluster.Nodes[3].Endpoint, failure.PeerEndpoint);
        }
        Assert.Contains("no progress from rank 3", failures[1].Message, StringComparison.Ordinal);
        Assert.Contains("reported by rank 0", failures[0].Message, StringComparison.Ordinal);
    }
}
