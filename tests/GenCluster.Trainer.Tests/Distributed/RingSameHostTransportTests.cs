using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>Ranks on one host connect over each other's Unix sockets; everything else, or any trouble with a socket, goes over TCP.</summary>
public class RingSameHostTransportTests
{
    private static void Deadlines(RingOptions o) => o.CollectiveTimeout = TimeSpan.FromSeconds(20);

    private static void UnixSockets(RingOptions o)
    {
        Deadlines(o);
        o.SameHostTransport = "unix";
    }

    private static void TcpOnly(RingOptions o)
    {
        Deadlines(o);
        o.SameHostTransport = "tcp";
    }

    [Fact]
    public async Task AnAllReduceOnOneHostGoesOverTheUnixSocketsWithTheSameResultAsTcp()
    {
        const int n = 3;
        var inputs = Inputs(n, 300_007);
        using var connections = new ConnectionCounter();
        float[][] overUnix;
        await using (var cluster = await RingCluster.StartAsync(n, UnixSockets))
        {
            Assert.All(cluster.Nodes, node => Assert.NotNull(RingPeerAddress.Parse(node.Endpoint).UnixSocketPath));
            overUnix = await AllReduceAsync(cluster, inputs);

            Assert.All(cluster.Nodes, node => Assert.Equal((1, 0), (node.Http2ConnectionsOver(RingTransport.Unix), node.Http2ConnectionsOver(RingTransport.Tcp))));
            Assert.All(cluster.Ranks, rank => Assert.Equal(RingTransport.Unix, rank.SuccessorTransport));
        }

        Assert.Equal(Enumerable.Repeat("unix", n), await connections.SortedAsync(n));

        float[][] overTcp;
        await using (var cluster = await RingCluster.StartAsync(n, TcpOnly))
        {
            Assert.All(cluster.Nodes, node => Assert.Null(node.UnixSocketPath));
            Assert.All(cluster.Nodes, node => Assert.DoesNotContain("?", node.Endpoint, StringComparison.Ordinal));
            overTcp = await AllReduceAsync(cluster, inputs);

            Assert.All(cluster.Nodes, node => Assert.Equal((0, 1), (node.Http2ConnectionsOver(RingTransport.Unix), node.Http2ConnectionsOver(RingTransport.Tcp))));
            Assert.All(cluster.Ranks, rank => Assert.Equal(RingTransport.Tcp, rank.SuccessorTransport));
        }

        Assert.Equal(Enumerable.Repeat("tcp", n).Concat(Enumerable.Repeat("unix", n)), await connections.SortedAsync(2 * n));
        for (var r = 0; r < n; r++)
        {
            Assert.Equal(overTcp[r], overUnix[r]);
        }

        Assert.Equal(inputs.Select(x => (double)x[12_345]).Sum(), overUnix[0][12_345], 3);
    }

    [Fact]
    public async Task ATrainerSetToTcpNeitherServesNorUsesAUnixSocket()
    {
        // Rank 1 is set to TCP: rank 0 finds no socket advertised for it, and rank 1 itself does not take rank 2's;
        // rank 2 still reaches rank 0 over its socket.
        var nodes = new List<RingNode> { await RingNode.StartAsync(Deadlines), await RingNode.StartAsync(TcpOnly), await RingNode.StartAsync(Deadlines) };
        try
        {
            var peers = nodes.Select(x => x.Endpoint).ToList();
            var ranks = nodes.Select((node, rank) => node.Factory.Create(RingCluster.Job, 1, rank, peers, RingCluster.Secret)).ToList();
            await using var cluster = new RingSession(ranks);
            await cluster.AllReduceAsync(Inputs(3, 1001));

            Assert.Null(nodes[1].UnixSocketPath);
            Assert.Null(RingPeerAddress.Parse(peers[1]).UnixSocketPath);
            Assert.Equal(new RingTransport?[] { RingTransport.Tcp, RingTransport.Tcp, RingTransport.Unix }, ranks.Select(r => r.SuccessorTransport));
            Assert.Equal((1, 0), (nodes[0].Http2ConnectionsOver(RingTransport.Unix), nodes[0].Http2ConnectionsOver(RingTransport.Tcp)));
            Assert.Equal((0, 1), (nodes[1].Http2ConnectionsOver(RingTransport.Unix), nodes[1].Http2ConnectionsOver(RingTransport.Tcp)));
            Assert.Equal((0, 1), (nodes[2].Http2ConnectionsOver(RingTransport.Unix), nodes[2].Http2ConnectionsOver(RingTransport.Tcp)));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task RanksAdvertisingDifferentAddressesUseTcpThoughTheirSocketFilesAreVisible()
    {
        // As in network namespaces sharing one file system: rank 2's socket file exists and would connect, but its
        // address differs from its neighbours', so neither link to or from it may take the Unix socket. (Set to Unix
        // sockets: with shared memory, the two ranks of 127.0.0.1 would all-reduce in two levels, HierarchicalAllReduceTests.)
        var second = IPAddress.Parse("127.0.0.2");
        var nodes = new List<RingNode> { await RingNode.StartAsync(UnixSockets), await RingNode.StartAsync(UnixSockets), await RingNode.StartAsync(UnixSockets, second) };
        try
        {
            Assert.True(File.Exists(nodes[2].UnixSocketPath));
            var peers = nodes.Select(x => x.Endpoint).ToList();
            var ranks = nodes.Select((node, rank) => node.Factory.Create(RingCluster.Job, 1, rank, peers, RingCluster.Secret)).ToList();
            await using var cluster = new RingSession(ranks);
            var results = await cluster.AllReduceAsync(Inputs(3, 5000));

            Assert.Equal(new RingTransport?[] { RingTransport.Unix, RingTransport.Tcp, RingTransport.Tcp }, ranks.Select(r => r.SuccessorTransport));
            Assert.Equal((1, 0), (nodes[1].Http2ConnectionsOver(RingTransport.Unix), nodes[1].Http2ConnectionsOver(RingTransport.Tcp)));
            Assert.Equal((0, 1), (nodes[2].Http2ConnectionsOver(RingTransport.Unix), nodes[2].Http2ConnectionsOver(RingTransport.Tcp)));
            Assert.Equal((0, 1), (nodes[0].Http2ConnectionsOver(RingTransport.Unix), nodes[0].Http2ConnectionsOver(RingTransport.Tcp)));
            Assert.Equal(results[0], results[2]);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SocketsThatDoNotConnectFallBackToTcpAndTheAllReduceCompletes()
    {
        const int n = 3;
        var scratch = Directory.CreateTempSubdirectory("ring-uds-test-");
        try
        {
            // Rank 2 -> 0: a socket file nobody listens on (bound, never listening: connecting is refused); 0 -> 1: no
            // such file; 1 -> 2: a plain file.
            var dead = Path.Combine(scratch.FullName, "dead.sock");
            using var notListening = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            notListening.Bind(new UnixDomainSocketEndPoint(dead));

            var plain = Path.Combine(scratch.FullName, "plain.sock");
            await File.WriteAllTextAsync(plain, "not a socket");
            string[] wrongPaths = [dead, Path.Combine(scratch.FullName, "missing", "ring.sock"), plain];
            Assert.True(File.Exists(dead));

            var nodes = await RingNode.StartManyAsync(n, Deadlines);
            try
            {
                var peers = nodes.Select((node, rank) => RingPeerAddress.Format(RingPeerAddress.Parse(node.Endpoint).TcpEndpoint, wrongPaths[rank])).ToList();
                var ranks = nodes.Select((node, rank) => node.Factory.Create(RingCluster.Job, 1, rank, peers, RingCluster.Secret)).ToList();
                await using var cluster = new RingSession(ranks);
                var inputs = Inputs(n, 40_003);
                var results = await cluster.AllReduceAsync(inputs);

                Assert.All(ranks, rank => Assert.Equal(RingTransport.Tcp, rank.SuccessorTransport));
                Assert.All(nodes, node => Assert.Equal((0, 1), (node.Http2ConnectionsOver(RingTransport.Unix), node.Http2ConnectionsOver(RingTransport.Tcp))));
                Assert.Equal(inputs.Select(x => (double)x[777]).Sum(), results[1][777], 3);
            }
            finally
            {
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task APeerWithTheWrongSecretIsRefusedOverTheUnixSocket()
    {
        await using var node = await RingNode.StartAsync();
        await using var session = node.Factory.Create(RingCluster.Job, 1, 1, ["http://127.0.0.1:1", node.Endpoint], RingCluster.Secret);

        using (var impostor = await ConnectUnixAsync(node))
        {
            await impostor.Socket.SendAsync(new RingHandshake.Client(RingCluster.Job, 1, 0, "not-the-secret").Answer(impostor.Hello));
            var read = await ReceiveOrClosedAsync(impostor.Socket, new byte[RingHandshake.ServerProofBytes]);
            Assert.True(read == 0, $"the server answered an impostor with {read} bytes");
        }

        Assert.Equal(["bad-secret"], await node.RejectionsAsync(1));
        Assert.Equal(0, node.Http2Connections);

        // The right secret over the same socket is admitted: its proof comes back.
        using var peer = await ConnectUnixAsync(node);
        await peer.Socket.SendAsync(new RingHandshake.Client(RingCluster.Job, 1, 0, RingCluster.Secret).Answer(peer.Hello));
        Assert.Equal(RingHandshake.ServerProofBytes, await ReceiveOrClosedAsync(peer.Socket, new byte[RingHandshake.ServerProofBytes]));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task TheSocketLivesInAPrivateDirectoryAndIsRemovedOnStop()
    {
        var node = await RingNode.StartAsync();
        var path = node.UnixSocketPath;
        try
        {
            Assert.NotNull(path);
            Assert.Equal(RingUnixSocket.PathFor(node.Port), path);
            Assert.True(File.Exists(path), $"{path} is missing while the node runs");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        }
        finally
        {
            await node.DisposeAsync();
        }

        Assert.False(File.Exists(path), $"{path} is still there after the node stopped");
    }

    [Fact]
    public async Task AStaleFileAtTheSocketPathIsReplacedOnStart()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var path = RingUnixSocket.PathFor(port)!;
        RingUnixSocket.PrepareDirectory(path);
        await File.WriteAllTextAsync(path, "left by a trainer that died");

        await using var node = await RingNode.StartAsync(port: port);
        Assert.Equal(path, node.UnixSocketPath);
        using var peer = await ConnectUnixAsync(node);
        Assert.Equal(RingHandshake.ServerHelloBytes, peer.Hello.Length);
    }

    [Fact]
    public void UnixSocketsTakeNoTcpSettingsButLargerBuffers()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var before = socket.SendBufferSize;

        RingSockets.Configure(socket);

        // The kernel caps the request at net.core.wmem_max (and reports double what it keeps): larger than before unless capped there.
        var cap = int.Parse(File.ReadAllText("/proc/sys/net/core/wmem_max").Trim());
        Assert.True(socket.SendBufferSize >= Math.Min(RingSockets.UnixBufferBytes, cap), $"send buffer {socket.SendBufferSize} (was {before}, cap {cap})");
    }

    private static float[][] Inputs(int n, int length)
    {
        var random = new Random(length);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    private static async Task<float[][]> AllReduceAsync(RingCluster cluster, float[][] inputs)
    {
        var buffers = inputs.Select(x => (float[])x.Clone()).ToArray();
        await cluster.OnAll((rank, r) => rank.AllReduceAsync(buffers[r], ReduceOp.Sum));
        return buffers;
    }

    private static async Task<RawPeer> ConnectUnixAsync(RingNode node)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(node.UnixSocketPath ?? throw new InvalidOperationException("the node has no Unix socket")));
        var hello = new byte[RingHandshake.ServerHelloBytes];
        Assert.Equal(hello.Length, await ReceiveOrClosedAsync(socket, hello));
        return new RawPeer(socket, hello);
    }

    /// <summary>Bytes received into <paramref name="buffer"/> (0 when the server closed or reset) within 10 s.</summary>
    private static async Task<int> ReceiveOrClosedAsync(Socket socket, byte[] buffer)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            return await RingSockets.ReceiveExactlyAsync(socket, buffer, timeout.Token);
        }
        catch (SocketException)
        {
            return 0;
        }
    }

    private sealed record RawPeer(Socket Socket, byte[] Hello) : IDisposable
    {
        public void Dispose() => Socket.Dispose();
    }

    /// <summary>One round's collectives on ranks whose nodes the test owns.</summary>
    private sealed class RingSession(List<RingCollectives> ranks) : IAsyncDisposable
    {
        public async Task<float[][]> AllReduceAsync(float[][] inputs)
        {
            var buffers = inputs.Select(x => (float[])x.Clone()).ToArray();
            await Task.WhenAll(ranks.Select((rank, r) => Task.Run(() => rank.AllReduceAsync(buffers[r], ReduceOp.Sum))));
            return buffers;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var rank in ranks)
            {
                await rank.DisposeAsync();
            }
        }
    }

    /// <summary>The <c>transport</c> of every <c>gencluster_ring_connections_total</c> increment in this process.</summary>
    private sealed class ConnectionCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<string> _transports = new();

        public ConnectionCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RingInstruments.MeterName && instrument.Name == "gencluster_ring_connections_total")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "transport")
                    {
                        for (var i = 0; i < value; i++)
                        {
                            _transports.Enqueue((string)tag.Value!);
                        }
                    }
                }
            });
            _listener.Start();
        }

        /// <summary>The transports counted once there are <paramref name="count"/> (the count follows the stream's opening), sorted.</summary>
        public async Task<IReadOnlyList<string>> SortedAsync(int count)
        {
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (_transports.Count < count && DateTime.UtcNow < until)
            {
                await Task.Delay(20);
            }

            return [.. _transports.Order(StringComparer.Ordinal)];
        }

        public void Dispose() => _listener.Dispose();
    }
}
