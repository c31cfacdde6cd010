using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>The ring port's handshake against raw sockets: what does and does not reach its HTTP/2 layer.</summary>
public class RingServerTests
{
    private static readonly byte[] Http2Opening = BuildHttp2Opening();

    [Fact]
    public async Task APeerWithTheWrongSecretIsDroppedBeforeItsHttp2IsParsed()
    {
        await using var node = await RingNode.StartAsync();
        await using var session = node.Factory.Create(RingCluster.Job, 1, 1, ["http://127.0.0.1:1", node.Endpoint], RingCluster.Secret);
        using var impostor = await ConnectAsync(node);

        await SendHelloAsync(impostor, new RingHandshake.Client(RingCluster.Job, 1, 0, "not-the-secret"));
        await TrySendAsync(impostor.Socket, Http2Opening);

        Assert.True(await ClosedAsync(impostor.Socket), "the server kept the impostor's connection open");
        Assert.Equal(["bad-secret"], await node.RejectionsAsync(1));
        Assert.Equal(0, node.Http2Connections);

        // The same bytes after a handshake with the right secret do reach HTTP/2: the server answers with SETTINGS.
        using var peer = await ConnectAsync(node);
        await SendHelloAsync(peer, new RingHandshake.Client(RingCluster.Job, 1, 0, RingCluster.Secret));
        Assert.Equal(RingHandshake.ServerProofBytes, await RingSockets.ReceiveExactlyAsync(peer.Socket, new byte[RingHandshake.ServerProofBytes], CancellationToken.None));
        await peer.Socket.SendAsync(Http2Opening);
        var header = new byte[Http2FrameHeader.Size];
        Assert.Equal(header.Length, await RingSockets.ReceiveExactlyAsync(peer.Socket, header, CancellationToken.None));
        Assert.Equal(Http2FrameType.Settings, Http2FrameHeader.Read(header).Type);
        Assert.Equal(1, node.Http2Connections);
    }

    [Fact]
    public async Task GarbageInsteadOfAHandshakeIsDropped()
    {
        await using var node = await RingNode.StartAsync();
        using var peer = await ConnectAsync(node);

        await TrySendAsync(peer.Socket, Http2Opening);

        Assert.True(await ClosedAsync(peer.Socket), "the server kept a connection that sent no handshake");
        Assert.Equal(["bad-handshake"], await node.RejectionsAsync(1));
        Assert.Equal(0, node.Http2Connections);
    }

    [Fact]
    public async Task APeerThatStallsIsDroppedAtTheHandshakeDeadline()
    {
        var deadline = TimeSpan.FromMilliseconds(500);
        await using var node = await RingNode.StartAsync(o => o.HandshakeTimeout = deadline);
        using var peer = await ConnectAsync(node);
        var watch = Stopwatch.StartNew();

        Assert.True(await ClosedAsync(peer.Socket), "the server kept a silent connection past its handshake deadline");

        Assert.InRange(watch.Elapsed, deadline - TimeSpan.FromMilliseconds(100), deadline + TimeSpan.FromSeconds(4));
        Assert.Equal(["handshake-timeout"], await node.RejectionsAsync(1));
    }

    [Fact]
    public async Task StalledHandshakesDoNotHoldUpTheRing()
    {
        await using var cluster = await RingCluster.StartAsync(2, o => o.HandshakeTimeout = TimeSpan.FromSeconds(60));
        var stalled = new List<RawPeer>();
        try
        {
            foreach (var node in cluster.Nodes)
            {
                for (var i = 0; i < 3; i++)
                {
                    stalled.Add(await ConnectAsync(node));
                }
            }

            var buffers = new[] { new float[] { 1, 2 }, new float[] { 10, 20 } };
            await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Sum)).WaitAsync(TimeSpan.FromSeconds(20));

            Assert.All(buffers, b => Assert.Equal(new float[] { 11, 22 }, b));
            Assert.All(cluster.Nodes, n => Assert.Empty(n.RejectedReasons));
        }
        finally
        {
            stalled.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task ConnectionsBeyondThePendingHandshakeLimitAreClosedUnread()
    {
        await using var node = await RingNode.StartAsync(o => o.HandshakeTimeout = TimeSpan.FromSeconds(60));
        var pending = new List<RawPeer>();
        try
        {
            for (var i = 0; i < RingServer.MaxPendingHandshakes; i++)
            {
                pending.Add(await ConnectAsync(node));
            }

            using var extra = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await extra.ConnectAsync(IPAddress.Loopback, node.Port);

            Assert.True(await ClosedAsync(extra), "the server took a connection beyond its pending-handshake limit");
            Assert.Equal(["handshake-backlog"], await node.RejectionsAsync(1));
        }
        finally
        {
            pending.ForEach(s => s.Dispose());
        }
    }

    /// <summary>Connects and reads the server's hello, so the connection is known to be in its handshake.</summary>
    private static async Task<RawPeer> ConnectAsync(RingNode node)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, node.Port);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var hello = new byte[RingHandshake.ServerHelloBytes];
        Assert.Equal(hello.Length, await RingSockets.ReceiveExactlyAsync(socket, hello, timeout.Token));
        return new RawPeer(socket, hello);
    }

    private static async Task SendHelloAsync(RawPeer peer, RingHandshake.Client client) => await peer.Socket.SendAsync(client.Answer(peer.Hello));

    /// <summary>Sends what the server may already have stopped reading; a reset is the server having closed.</summary>
    private static async Task TrySendAsync(Socket socket, byte[] bytes)
    {
        try
        {
            await socket.SendAsync(bytes);
        }
        catch (SocketException)
        {
            // Closed already.
        }
    }

    /// <summary>Reads until the server closes (true) or 10 s pass (false); no byte may come (HTTP/2 would answer SETTINGS).</summary>
    private static async Task<bool> ClosedAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[256];
        try
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.True(read == 0, $"the server sent {read} bytes after the hello");
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A raw connection to a ring port and the hello the port sent on it.</summary>
    private sealed record RawPeer(Socket Socket, byte[] Hello) : IDisposable
    {
        public void Dispose() => Socket.Dispose();
    }

    /// <summary>A valid HTTP/2 opening for the ring method: preface, SETTINGS, HEADERS (with an HPACK block) and a DATA frame.</summary>
    private static byte[] BuildHttp2Opening()
    {
        var block = new List<byte>();
        Hpack.WriteIndexed(block, Hpack.MethodPost);
        Hpack.WriteIndexed(block, Hpack.SchemeHttp);
        Hpack.WriteLiteral(block, Hpack.PathName, RingServer.Method);
        Hpack.WriteLiteral(block, Hpack.ContentTypeName, "application/grpc");
        Hpack.WriteLiteral(block, "gencluster-job", RingCluster.Job);
        Hpack.WriteLiteral(block, "gencluster-round", "1");
        Hpack.WriteLiteral(block, "gencluster-rank", "0");
        var opening = new List<byte>(Http2FrameHeader.ClientPreface.ToArray());
        Http2Frames.Add(opening, Http2FrameType.Settings, Http2Flags.None, 0, []);
        Http2Frames.Add(opening, Http2FrameType.Headers, Http2Flags.EndHeaders, 1, block.ToArray());
        Http2Frames.Add(opening, Http2FrameType.Data, Http2Flags.None, 1, [0, 0, 0, 0, 4, 1, 2, 3, 4]);
        return opening.ToArray();
    }
}
