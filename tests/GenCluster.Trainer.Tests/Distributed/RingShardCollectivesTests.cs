using GenCluster.Trainer.Distributed;
using Xunit.Abstractions;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>The halves of the ring all-reduce run apart: reduce-scatter and in-place all-gather of float buffers.</summary>
public abstract class RingShardCollectivesTests(ITestOutputHelper output) : OnEachSameHostTransport
{
    private static void SmallFrames(RingOptions o)
    {
        o.FrameBytes = 1024;
        o.CollectiveTimeout = TimeSpan.FromSeconds(20);
    }

    private static float[][] RandomInputs(int n, int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n)
            .Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray())
            .ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ReduceScatterLeavesEachRankItsShardReducedBitForBitAsTheAllReduce(int n)
    {
        await using var cluster = await StartCluster(n, SmallFrames);
        foreach (var length in new[] { 0, 1, n - 1, 3, 7, 1001, 40_003 })
        {
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Average })
            {
                var inputs = RandomInputs(n, length, length * 17 + n);
                var reduced = inputs.Select(x => (float[])x.Clone()).ToArray();
                await cluster.OnAll((rank, r) => rank.AllReduceAsync(reduced[r], op));
                var scattered = inputs.Select(x => (float[])x.Clone()).ToArray();

                await cluster.OnAll((rank, r) => rank.ReduceScatterAsync(scattered[r], op));

                var layout = new ShardLayout(length, n);
                for (var r = 0; r < n; r++)
                {
                    var (start, size) = layout.Shard(r);
                    Assert.Equal(reduced[0].AsSpan(start, size).ToArray(), scattered[r].AsSpan(start, size).ToArray());
                    for (var i = start; i < start + size; i++)
                    {
                        var expected = inputs.Sum(x => (double)x[i]) / (op == ReduceOp.Average ? n : 1);
                        Assert.True(Math.Abs(scattered[r][i] - expected) <= 1e-5,
                            $"n={n} length={length} {op} rank {r} element {i}: expected {expected}, got {scattered[r][i]}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task AllGatherBringsEveryRanksShardToEveryRank(int n)
    {
        await using var cluster = await StartCluster(n, SmallFrames);
        foreach (var length in new[] { 0, 1, n - 1, 5, 1001, 40_003 })
        {
            var layout = new ShardLayout(length, n);
            var expected = new float[length];
            var buffers = new float[n][];
            for (var r = 0; r < n; r++)
            {
                // Everything outside a rank's own shard is garbage that the gather must overwrite.
                buffers[r] = Enumerable.Repeat(float.NaN, length).ToArray();
                var (start, size) = layout.Shard(r);
                for (var i = start; i < start + size; i++) expected[i] = buffers[r][i] = (r * 100_000) + i;
            }

            await cluster.OnAll((rank, r) => rank.AllGatherAsync(buffers[r]));

            Assert.All(buffers, b => Assert.Equal(expected, b));
        }
    }

    /// <summary>bf16 shortens the gradients' reduce phase only: the gather carries parameters and stays exact.</summary>
    [Fact]
    public async Task WithBf16TheReduceScatterRoundsLikeTheAllReduceAndTheGatherIsExact()
    {
        const int n = 3;
        const int length = 10_007;
        await using var cluster = await StartCluster(n, o =>
        {
            SmallFrames(o);
            o.UseBf16 = true;
        });
        var inputs = RandomInputs(n, length, 3);
        var reduced = inputs.Select(x => (float[])x.Clone()).ToArray();
        await cluster.OnAll((rank, r) => rank.AllReduceAsync(reduced[r], ReduceOp.Average));
        var halves = inputs.Select(x => (float[])x.Clone()).ToArray();

        await cluster.OnAll((rank, r) => rank.ReduceScatterAsync(halves[r], ReduceOp.Average));
        await cluster.OnAll((rank, r) => rank.AllGatherAsync(halves[r]));
        Assert.All(halves, b => Assert.Equal(reduced[0], b));

        var precise = Enumerable.Range(0, n).Select(r => Enumerable.Range(0, length).Select(i => 1f + (i * 1e-6f) + r).ToArray()).ToArray();
        var layout = new ShardLayout(length, n);
        var expected = new float[length];
        for (var r = 0; r < n; r++)
        {
            var (start, size) = layout.Shard(r);
            Array.Copy(precise[r], start, expected, start, size);
        }

        await cluster.OnAll((rank, r) => rank.AllGatherAsync(precise[r]));
        Assert.All(precise, b => Assert.Equal(expected, b));
    }

    [Fact]
    public async Task AllGatherWithARankMissingFailsNamingItWithinTheDeadline()
    {
        const int n = 3;
        var deadline = TimeSpan.FromSeconds(2);
        await using var cluster = await StartCluster(n, o => o.CollectiveTimeout = deadline);
        var warmup = Enumerable.Range(0, n).Select(_ => new float[100]).ToArray();
        await cluster.OnAll((rank, r) => rank.ReduceScatterAsync(warmup[r], ReduceOp.Sum));

        var failures = await Task.WhenAll(cluster.Ranks.Take(2).Select(rank => Task.Run(async () =>
            await Assert.ThrowsAnyAsync<CollectiveException>(() => rank.AllGatherAsync(new float[1000])))));

        foreach (var failure in failures) output.WriteLine($"{failure.GetType().Name}: {failure.Message}");
        Assert.All(failures, f => Assert.Equal("all-gather", f.Collective));
        // Rank 0 waits on its predecessor, the missing rank 2, and names it.
        Assert.Equal(2, failures[0].PeerRank);
        Assert.Contains("rank 2", failures[0].Message, StringComparison.Ordinal);
    }
}

/// <summary>The same tests with every rank on one host connected by the ring's Unix sockets.</summary>
public sealed class RingShardCollectivesOverSocketsTests(ITestOutputHelper output) : RingShardCollectivesTests(output)
{
    protected override string SameHostTransport => "unix";
}

/// <summary>The same tests with every rank on one host exchanging through shared memory.</summary>
public sealed class RingShardCollectivesOverSharedMemoryTests(ITestOutputHelper output) : RingShardCollectivesTests(output)
{
    protected override string SameHostTransport => "shm";
}
