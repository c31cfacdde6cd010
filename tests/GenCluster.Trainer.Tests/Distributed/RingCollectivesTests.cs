using System.Diagnostics;
using System.Globalization;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace GenCluster.Trainer.Tests.Distributed;

public abstract class RingCollectivesTests(ITestOutputHelper output) : OnEachSameHostTransport
{
    private static readonly TimeSpan ShortDeadline = TimeSpan.FromSeconds(2);

    /// <summary>Small frames so even short buffers cross several frames per chunk.</summary>
    private static void SmallFrames(RingOptions o)
    {
        o.FrameBytes = 1024;
        o.CollectiveTimeout = TimeSpan.FromSeconds(20);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task AllReduceEqualsNaiveSumForOddLengths(int n)
    {
        await using var cluster = await StartCluster(n, SmallFrames);
        int[] lengths = [0, 1, n - 1, 3, 7, 1001, 40_003];
        foreach (var length in lengths)
        {
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Average })
            {
                var random = new Random(length * 31 + n);
                var inputs = Enumerable.Range(0, n)
                    .Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray())
                    .ToArray();
                var expected = new double[length];
                for (var i = 0; i < length; i++)
                {
                    expected[i] = inputs.Sum(x => (double)x[i]) / (op == ReduceOp.Average ? n : 1);
                }

                var buffers = inputs.Select(x => (float[])x.Clone()).ToArray();
                await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], op));

                for (var r = 0; r < n; r++)
                {
                    for (var i = 0; i < length; i++)
                    {
                        Assert.True(Math.Abs(buffers[r][i] - expected[i]) <= 1e-5,
                            $"n={n} length={length} {op} rank {r} element {i}: expected {expected[i]}, got {buffers[r][i]}");
                    }

                    Assert.Equal(buffers[0], buffers[r]);
                }
            }
        }

        Assert.All(cluster.Ranks, r => Assert.Equal(lengths.Length * 2, r.Sequence));
    }

    [Fact]
    public async Task AllReduceOfSmallIntegersIsExact()
    {
        const int n = 4;
        const int length = 1_000_003;
        await using var cluster = await StartCluster(n, o => o.CollectiveTimeout = TimeSpan.FromSeconds(30));
        var buffers = Enumerable.Range(0, n).Select(r => Enumerable.Range(0, length).Select(i => (float)((i % 13) + r)).ToArray()).ToArray();

        await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Sum));

        for (var r = 0; r < n; r++)
        {
            var wrong = 0;
            for (var i = 0; i < length; i++)
            {
                if (buffers[r][i] != (n * (i % 13)) + (n * (n - 1) / 2))
                {
                    wrong++;
                }
            }

            Assert.Equal(0, wrong);
        }
    }

    [Fact]
    public async Task BroadcastCopiesTheRootsBufferFromEveryRoot()
    {
        const int n = 3;
        await using var cluster = await StartCluster(n, SmallFrames);
        for (var root = 0; root < n; root++)
        {
            var buffers = Enumerable.Range(0, n).Select(r => Enumerable.Range(0, 1001).Select(i => (float)(r * 10_000 + i)).ToArray()).ToArray();
            var expected = (float[])buffers[root].Clone();
            var rootCopy = root;

            await cluster.OnAll((rank, r) => rank.BroadcastAsync(buffers[r], rootCopy));

            Assert.All(buffers, b => Assert.Equal(expected, b));
        }
    }

    [Fact]
    public async Task BarrierWaitsForTheLastRank()
    {
        const int n = 3;
        await using var cluster = await StartCluster(n, o => o.CollectiveTimeout = TimeSpan.FromSeconds(20));
        var early = cluster.Ranks.Take(n - 1).Select(r => Task.Run(() => r.BarrierAsync())).ToArray();

        var finishedEarly = await Task.WhenAny(Task.WhenAll(early), Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.All(early, t => Assert.False(t.IsCompleted, "a barrier completed before rank 2 entered it"));

        await cluster.Ranks[n - 1].BarrierAsync();
        await Task.WhenAll(early);
        Assert.NotNull(finishedEarly);
    }

    [Fact]
    public async Task AllGatherReturnsEveryRanksValuesIndexedByRank()
    {
        const int n = 4;
        await using var cluster = await StartCluster(n, SmallFrames);

        var results = await cluster.OnAll((rank, r) => rank.AllGatherAsync(Enumerable.Range(0, r + 1).Select(i => r + (i / 10.0)).ToArray()));

        foreach (var gathered in results)
        {
            Assert.Equal(n, gathered.Length);
            for (var r = 0; r < n; r++)
            {
                Assert.Equal(Enumerable.Range(0, r + 1).Select(i => r + (i / 10.0)).ToArray(), gathered[r]);
            }
        }
    }

    [Fact]
    public async Task DeadPeerFailsNamingItsRankWithinTheDeadline()
    {
        const int n = 3;
        await using var cluster = await StartCluster(n, o => o.CollectiveTimeout = ShortDeadline);
        var warmup = Enumerable.Range(0, n).Select(_ => new float[10_000]).ToArray();
        await cluster.OnAll((rank, r) => rank.AllReduceAsync(warmup[r], ReduceOp.Sum));

        await cluster.Nodes[2].StopAsync();
        await cluster.Ranks[2].DisposeAsync();
        var watch = Stopwatch.StartNew();
        var failures = await Task.WhenAll(cluster.Ranks.Take(2).Select(rank => Task.Run(async () =>
            await Assert.ThrowsAnyAsync<CollectiveException>(() => rank.AllReduceAsync(new float[10_000], ReduceOp.Sum)))));
        watch.Stop();

        foreach (var failure in failures)
        {
            output.WriteLine($"{failure.GetType().Name}: {failure.Message}");
            Assert.Equal(2, failure.PeerRank);
            Assert.Equal(cluster.Nodes[2].Endpoint, failure.PeerEndpoint);
            Assert.Equal(1, failure.Sequence);
            Assert.Contains("rank 2", failure.Message, StringComparison.Ordinal);
            Assert.Contains(cluster.Nodes[2].Endpoint, failure.Message, StringComparison.Ordinal);
            Assert.Contains("#1", failure.Message, StringComparison.Ordinal);
        }

        Assert.True(watch.Elapsed < ShortDeadline + TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task PeerThatNeverStartedFailsNamingItsRank()
    {
        var live = await StartNode(o => o.CollectiveTimeout = ShortDeadline);
        await using var liveNode = live;
        var gone = await StartNode();
        var goneEndpoint = gone.Endpoint;
        await gone.DisposeAsync();
        await using var rank0 = live.Factory.Create(RingCluster.Job, 1, 0, [live.Endpoint, goneEndpoint], RingCluster.Secret);

        var failure = await Assert.ThrowsAsync<PeerFailedException>(() => rank0.AllReduceAsync(new float[100], ReduceOp.Sum));

        output.WriteLine(failure.Message);
        Assert.Equal(1, failure.PeerRank);
        Assert.Equal(goneEndpoint, failure.PeerEndpoint);
        Assert.Equal(0, failure.Sequence);
    }

    [Fact]
    public async Task FrozenPeerTimesOutNamingItsRankWithinTheDeadline()
    {
        await using var live = await StartNode(o => o.CollectiveTimeout = ShortDeadline);
        await using var frozen = new FrozenRingPeer();
        await using var rank0 = live.Factory.Create(RingCluster.Job, 1, 0, [live.Endpoint, frozen.Endpoint], RingCluster.Secret);

        var watch = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<CollectiveTimeoutException>(() => rank0.AllReduceAsync(new float[100_000], ReduceOp.Sum));
        watch.Stop();

        output.WriteLine(failure.Message);
        Assert.Equal(1, failure.PeerRank);
        Assert.Equal(frozen.Endpoint, failure.PeerEndpoint);
        Assert.Equal(0, failure.Sequence);
        Assert.Contains("rank 1", failure.Message, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, ShortDeadline - TimeSpan.FromMilliseconds(100), ShortDeadline + TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task TheFirstCollectiveWaitsForTheJoinTimeoutAndLaterOnesForTheCollectiveTimeout()
    {
        var join = ShortDeadline * 2;
        await using var live = await StartNode(o =>
        {
            o.CollectiveTimeout = ShortDeadline;
            o.JoinTimeout = join;
        });
        await using var frozen = new FrozenRingPeer();
        await using var rank0 = live.Factory.Create(RingCluster.Job, 1, 0, [live.Endpoint, frozen.Endpoint], RingCluster.Secret);

        var watch = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<CollectiveTimeoutException>(() => rank0.AllReduceAsync(new float[100_000], ReduceOp.Sum));
        watch.Stop();

        Assert.Equal(0, failure.Sequence);
        Assert.Contains($"within {join.TotalSeconds:0.###} s", failure.Message, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, join - TimeSpan.FromMilliseconds(100), join + TimeSpan.FromSeconds(2));
        Assert.Equal(ShortDeadline, new RingOptions { CollectiveTimeout = ShortDeadline, JoinTimeout = join }.DeadlineOf(1));
    }

    [Fact]
    public async Task StaleRoundStreamsAndFramesAreRejectedAndNeverMixedIn()
    {
        await using var cluster = await StartCluster(2, SmallFrames, round: 7);
        var target = cluster.Nodes[1];

        var staleHeader = await Assert.ThrowsAsync<RpcException>(() => SendRawAsync(target.Endpoint, RingCluster.Secret, headerRound: 6, frameRound: 6));
        Assert.Equal(StatusCode.FailedPrecondition, staleHeader.StatusCode);
        Assert.Equal(1, target.Rejected);

        var staleFrame = await Assert.ThrowsAsync<RpcException>(() => SendRawAsync(target.Endpoint, RingCluster.Secret, headerRound: 7, frameRound: 6));
        Assert.Equal(StatusCode.FailedPrecondition, staleFrame.StatusCode);
        Assert.Equal(2, target.Rejected);

        var otherJob = await Assert.ThrowsAsync<RpcException>(() => SendRawAsync(target.Endpoint, RingCluster.Secret, headerRound: 7, frameRound: 7, frameJob: "another-job"));
        Assert.Equal(StatusCode.FailedPrecondition, otherJob.StatusCode);
        Assert.Contains("another-job", otherJob.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(3, target.Rejected);

        var buffers = new[] { new float[] { 1, 2, 3 }, new float[] { 10, 20, 30 } };
        await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Sum));
        Assert.All(buffers, b => Assert.Equal(new float[] { 11, 22, 33 }, b));
    }

    [Fact]
    public async Task AWrongSecretOrNoHandshakeIsRefusedBeforeAnyData()
    {
        // Node a hosts no session for the job (the impostor is not registered), so it holds rank 1's handshake open
        // waiting for one; its wait outlasts rank 1's deadline, which must therefore fail on its own clock.
        await using var a = await StartNode(o => (o.CollectiveTimeout, o.JoinTimeout) = (ShortDeadline, TimeSpan.FromSeconds(10)));
        await using var b = await StartNode(o => o.CollectiveTimeout = ShortDeadline);
        string[] peers = [a.Endpoint, b.Endpoint];
        await using var impostor = new RingCollectives(
            RingCluster.Job, 1, 0, peers, "not-the-secret", new RingOptions { CollectiveTimeout = ShortDeadline },
            a.Instruments, NullLogger.Instance);
        await using var rank1 = b.Factory.Create(RingCluster.Job, 1, 1, peers, RingCluster.Secret);

        var refused = await Assert.ThrowsAsync<PeerFailedException>(() => impostor.AllReduceAsync(new float[1000], ReduceOp.Sum));
        output.WriteLine(refused.Message);
        Assert.Equal(1, refused.PeerRank);
        Assert.Equal(StatusCode.Unauthenticated, Assert.IsType<RpcException>(refused.InnerException).StatusCode);
        Assert.Contains("refused the ring handshake", refused.Message, StringComparison.Ordinal);
        Assert.Equal(["bad-secret"], await b.RejectionsAsync(1));

        // A stock gRPC client speaks HTTP/2 at once: its preface is not a handshake.
        var stock = await Assert.ThrowsAsync<RpcException>(() => SendStockAsync(b.Endpoint));
        Assert.Equal(StatusCode.Unavailable, stock.StatusCode);
        Assert.Equal(["bad-secret", "bad-handshake"], await b.RejectionsAsync(2));
        Assert.Equal(0, b.Http2Connections);

        // Nothing the impostor sent reached rank 1: its next collective still waits for a real predecessor and times out.
        var timeout = await Assert.ThrowsAsync<CollectiveTimeoutException>(() => rank1.AllReduceAsync(new float[1000], ReduceOp.Sum));
        Assert.Equal(0, timeout.PeerRank);
    }

    [Fact]
    public async Task CancellationStopsACollectiveAndBreaksTheRound()
    {
        await using var cluster = await StartCluster(2, o => o.CollectiveTimeout = TimeSpan.FromSeconds(30));
        using var cts = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();

        var running = cluster.Ranks[0].AllReduceAsync(new float[1_000_000], ReduceOp.Sum, cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"cancellation took {watch.Elapsed}");
        var after = await Assert.ThrowsAsync<CollectiveException>(() => cluster.Ranks[0].BarrierAsync());
        Assert.Contains("new round", after.Message, StringComparison.Ordinal);

        // The peer learns of it from the ring instead of waiting out its 30 s deadline.
        var peer = await Assert.ThrowsAsync<PeerFailedException>(() => cluster.Ranks[1].AllReduceAsync(new float[1_000_000], ReduceOp.Sum));
        output.WriteLine(peer.Message);
        Assert.Equal(0, peer.PeerRank);
        Assert.Contains("cancelled", peer.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the peer failed after {watch.Elapsed}");
    }

    [Fact]
    public async Task Bf16TransferStaysWithinItsMeasuredErrorAndRanksAgree()
    {
        const int n = 3;
        const int length = 50_000;
        await using var cluster = await StartCluster(n, o =>
        {
            o.UseBf16 = true;
            o.CollectiveTimeout = TimeSpan.FromSeconds(20);
        });
        var random = new Random(5);
        var inputs = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() + 0.5)).ToArray()).ToArray();
        var exact = Enumerable.Range(0, length).Select(i => inputs.Sum(x => (double)x[i])).ToArray();

        await cluster.OnAll((rank, r) => rank.AllReduceAsync(inputs[r], ReduceOp.Sum));

        var maxRelative = Enumerable.Range(0, length).Max(i => Math.Abs(inputs[0][i] - exact[i]) / exact[i]);
        output.WriteLine($"bf16 all-reduce of {n} ranks x {length} values in [0.5, 1.5): max relative error {maxRelative:E3}");
        Assert.InRange(maxRelative, 1e-6, 3 * Math.Pow(2, -8));
        Assert.All(inputs, b => Assert.Equal(inputs[0], b));
    }

    /// <summary>
    /// Opens a ring stream that passes the handshake with <paramref name="secret"/> (claiming <paramref name="headerRound"/>,
    /// rank 0) and sends one frame; the headers and the frame say what the test wants.
    /// </summary>
    private static async Task SendRawAsync(string endpoint, string secret, long headerRound, long frameRound, string frameJob = RingCluster.Job)
    {
        KeyValuePair<string, string>[] headers =
        [
            new("gencluster-job", RingCluster.Job), new("gencluster-round", headerRound.ToString(CultureInfo.InvariantCulture)), new("gencluster-rank", "0"),
        ];
        var handshake = new RingHandshake.Client(RingCluster.Job, headerRound, 0, secret);
        await using var call = GrpcStreamClient.Start(
            endpoint, RingServer.Method, headers, TimeSpan.FromSeconds(10), CancellationToken.None,
            (socket, ct) => RingHandshakeSocket.ConnectAsync(socket, handshake, endpoint, ct));
        var frame = new RingFrame
        {
            JobId = frameJob,
            Round = frameRound,
            Sequence = 0,
            SenderRank = 0,
            Payload = Google.Protobuf.ByteString.CopyFrom(new byte[12]),
        };
        try
        {
            await call.WriteAsync(ReadOnlyMemory<byte>.Empty, frame.ToByteArray(), CancellationToken.None);
            await call.CompleteAsync(CancellationToken.None);
        }
        catch (RpcException)
        {
            // The server may refuse before the write lands; the response carries the status either way.
        }

        await call.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>A ring stream from a stock gRPC client (HTTP/2 from the first byte, no handshake).</summary>
    private static async Task SendStockAsync(string endpoint)
    {
        using var channel = GrpcChannel.ForAddress(endpoint);
        var client = new RingService.RingServiceClient(channel);
        var headers = new Metadata { { "gencluster-job", RingCluster.Job }, { "gencluster-round", "1" }, { "gencluster-rank", "0" } };
        using var call = client.Stream(headers, deadline: DateTime.UtcNow.AddSeconds(10));
        try
        {
            await call.RequestStream.WriteAsync(new RingFrame { JobId = RingCluster.Job, Round = 1 });
        }
        catch (RpcException)
        {
            // The server may close the connection before the write lands; the response carries the status either way.
        }

        await call.ResponseAsync;
    }
}

/// <summary>The same tests with every rank on one host connected by the ring's Unix sockets.</summary>
public sealed class RingCollectivesOverSocketsTests(ITestOutputHelper output) : RingCollectivesTests(output)
{
    protected override string SameHostTransport => "unix";
}

/// <summary>The same tests with every rank on one host exchanging through shared memory.</summary>
public sealed class RingCollectivesOverSharedMemoryTests(ITestOutputHelper output) : RingCollectivesTests(output)
{
    protected override string SameHostTransport => "shm";
}
