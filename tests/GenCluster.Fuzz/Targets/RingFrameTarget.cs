using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenCluster.Fuzz.Targets;

/// <summary>
/// <c>ring-frame</c>: what a peer sends on the ring port once the handshake is done, from the HTTP/2 client preface
/// on. The input goes through a loopback socket into the ring port's own connection (<see cref="Http2ServerConnection"/>
/// with the ring listener's limits): frame headers, SETTINGS, PING, RST_STREAM, HEADERS and CONTINUATION through the
/// HPACK decoder, padded DATA, gRPC message prefixes and their reassembly into pooled buffers; the call hands every
/// message to <see cref="InboundFrame.ParseOwned"/>, as <see cref="RingServer"/> does. The peer half-closes after the
/// input and drains what the port answers.
/// </summary>
/// <remarks>
/// The connection handles the failures it expects itself (it answers or closes the connection), so whatever escapes
/// <see cref="Http2ServerConnection.RunAsync"/> is a crash; so is anything the call sees besides
/// <see cref="RpcException"/> (a message the ring refuses), <see cref="IOException"/> (the stream failed) and
/// cancellation. The call reads without its cancellation token, so every message the connection delivered is parsed
/// whatever the timing. Accepted: the request stream ended cleanly and every message parsed.
/// </remarks>
internal sealed class RingFrameTarget : IFuzzTarget, IDisposable
{
    public const string Name = "ring-frame";

    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly GrpcStreamServerLimits _limits = RingListener.Limits(new RingOptions(), new RingFramePool());

    public RingFrameTarget()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
    }

    public FuzzOutcome Run(ReadOnlySpan<byte> input) => RunAsync(input.ToArray()).GetAwaiter().GetResult();

    public void Dispose() => _listener.Dispose();

    private async Task<FuzzOutcome> RunAsync(byte[] input)
    {
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accepting = _listener.AcceptAsync();
        await peer.ConnectAsync(_listener.LocalEndPoint!).ConfigureAwait(false);
        var accepted = await accepting.ConfigureAwait(false);
        RingSockets.Configure(accepted);
        var draining = DrainAsync(peer);
        // Sent before the port reads: an input that fits the loopback socket's buffers (any but the largest) is all
        // there at the first read, so how the port's reads fall, and the paths they take, depend on the input alone.
        var sending = SendAndHalfCloseAsync(peer, input);
        var call = new ParsingCall();
        var connection = new Http2ServerConnection(accepted, RingServer.Method, call.HandleAsync, _limits, identity: null, NullLogger.Instance);
        await connection.RunAsync().ConfigureAwait(false);
        await sending.ConfigureAwait(false);
        await draining.ConfigureAwait(false);
        return call.Outcome();
    }

    private static async Task SendAndHalfCloseAsync(Socket peer, byte[] input)
    {
        try
        {
            await RingSockets.SendAllAsync(peer, input, CancellationToken.None).ConfigureAwait(false);
            peer.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The port closed the connection before it read everything (a bad preface, a frame over the limit).
        }
    }

    private static async Task DrainAsync(Socket peer)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (await peer.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // Reset by the port's close: nothing more to read.
        }
    }

    /// <summary>The call's handler: parses every message the connection delivers and records how the call ended.</summary>
    private sealed class ParsingCall
    {
        private volatile bool _ended;
        private ExceptionDispatchInfo? _unexpected;

        public async Task<byte[]> HandleAsync(GrpcServerCall call)
        {
            try
            {
                while (await call.ReadAsync(CancellationToken.None).ConfigureAwait(false) is { } message)
                {
                    InboundFrame.ParseOwned(message.Buffer, message.Length, call.Pool).Release();
                }

                _ended = true;
                return [];
            }
            catch (Exception ex) when (ex is not (RpcException or IOException or OperationCanceledException))
            {
                _unexpected = ExceptionDispatchInfo.Capture(ex);
                throw;
            }
        }

        public FuzzOutcome Outcome()
        {
            _unexpected?.Throw();
            return _ended ? FuzzOutcome.Accepted : FuzzOutcome.Rejected;
        }
    }
}
