using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Distributed.Http2;

/// <summary>
/// A gRPC server for one client-streaming method over cleartext HTTP/2 (prior knowledge), written for bulk
/// transfer: a DATA frame's payload is received straight into the buffer of the message it belongs to (one kernel
/// copy, no user-space copy), where Kestrel copies each byte twice more on its way to a gRPC handler. One call per
/// connection. Flow-control credit goes back as frames come in; a slow handler pushes back through TCP instead: once
/// the call's few queued messages are full the connection stops reading. Any gRPC client can call it (the tests use
/// Grpc.Net.Client and the ring's own client).
/// </summary>
internal sealed class GrpcStreamServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _method;
    private readonly Func<GrpcServerCall, Task<byte[]>> _handler;
    private readonly GrpcStreamServerLimits _limits;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Http2ServerConnection, Task> _connections = new();
    private Task _accepting = Task.CompletedTask;

    /// <summary>Binds <paramref name="endpoint"/> (port 0 picks a free one); <see cref="Start"/> begins accepting.</summary>
    /// <param name="endpoint">Address and port to listen on.</param>
    /// <param name="method">The one method served, e.g. <c>/gencluster.ring.RingService/Stream</c>; others get UNIMPLEMENTED.</param>
    /// <param name="handler">Runs each call; returns the serialized response message or throws <see cref="RpcException"/>.</param>
    /// <param name="limits">Windows, frame and message sizes, buffer pool.</param>
    /// <param name="logger">Logger.</param>
    public GrpcStreamServer(IPEndPoint endpoint, string method, Func<GrpcServerCall, Task<byte[]>> handler, GrpcStreamServerLimits limits, ILogger logger)
    {
        _method = method;
        _handler = handler;
        _limits = limits;
        _logger = logger;
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _listener.DualMode = true;
            }

            _listener.Bind(endpoint);
            _listener.Listen(512);
        }
        catch (SocketException ex)
        {
            _listener.Dispose();
            throw new IOException($"ring port: cannot listen on {endpoint}: {ex.Message}", ex);
        }

        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    /// <summary>The address and port actually bound.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Starts accepting connections.</summary>
    public void Start() => _accepting = AcceptLoopAsync();

    /// <summary>Stops accepting, aborts open connections (their calls see cancellation) and waits for them briefly.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        await Task.WhenAny(Task.WhenAll(_connections.Values.Append(_accepting)), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || _stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                Http2Log.AcceptFailed(_logger, LocalEndPoint.ToString(), ex.Message);
                continue;
            }

            RingSockets.Configure(socket);
            var connection = new Http2ServerConnection(socket, _method, _handler, _limits, _logger);
            var run = connection.RunAsync();
            _connections[connection] = run;
            _ = run.ContinueWith(_ => _connections.TryRemove(connection, out Task? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}

/// <summary>Sizes the server advertises and enforces.</summary>
/// <param name="WindowBytes">Stream and connection receive window.</param>
/// <param name="MaxFrameBytes">Largest DATA frame the client may send (16 KiB .. 16 MiB - 1).</param>
/// <param name="MaxMessageBytes">Largest request message; larger ones end the call with RESOURCE_EXHAUSTED.</param>
/// <param name="BufferedMessages">Messages received ahead of the handler before the connection stops reading.</param>
/// <param name="Pool">Where message buffers come from.</param>
internal sealed record GrpcStreamServerLimits(int WindowBytes, int MaxFrameBytes, int MaxMessageBytes, int BufferedMessages, ArrayPool<byte> Pool);

internal static partial class Http2Log
{
    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "Ring port {Endpoint}: accept failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Debug, Message = "Ring connection from {Peer} ended: {Reason}")]
    public static partial void ConnectionEnded(ILogger logger, string peer, string reason);
}
