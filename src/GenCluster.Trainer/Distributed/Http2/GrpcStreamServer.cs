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
/// Grpc.Net.Client and the ring's own client) unless a connection gate is set: then every accepted connection first
/// passes the gate, which owns the socket until it returns, and only a connection it admits reaches HTTP/2.
/// </summary>
internal sealed class GrpcStreamServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _method;
    private readonly Func<GrpcServerCall, Task<byte[]>> _handler;
    private readonly GrpcStreamServerLimits _limits;
    private readonly Func<Socket, CancellationToken, Task<object?>>? _gate;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, Task> _accepted = new();
    private readonly ConcurrentDictionary<Http2ServerConnection, byte> _connections = new();
    private Task _accepting = Task.CompletedTask;
    private readonly string? _unixPath;
    private long _http2Connections;

    /// <summary>
    /// Binds <paramref name="endpoint"/>: an address and TCP port (port 0 picks a free one), or a
    /// <see cref="UnixDomainSocketEndPoint"/> path (a file already at the path, left by a process that died, is replaced;
    /// the server removes the file when disposed). <see cref="Start"/> begins accepting.
    /// </summary>
    /// <param name="endpoint">Where to listen.</param>
    /// <param name="method">The one method served, e.g. <c>/gencluster.ring.RingService/Stream</c>; others get UNIMPLEMENTED.</param>
    /// <param name="handler">Runs each call; returns the serialized response message or throws <see cref="RpcException"/>.</param>
    /// <param name="limits">Windows, frame and message sizes, buffer pool.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="gate">
    /// Optional: runs on each accepted connection (on its own task, not the accept loop) before any HTTP/2 byte is read;
    /// returns what it established about the client (<see cref="GrpcServerCall.Identity"/>), or null to have the
    /// connection closed. Its token fires when the server stops.
    /// </param>
    public GrpcStreamServer(
        EndPoint endpoint, string method, Func<GrpcServerCall, Task<byte[]>> handler, GrpcStreamServerLimits limits, ILogger logger,
        Func<Socket, CancellationToken, Task<object?>>? gate = null)
    {
        _method = method;
        _handler = handler;
        _limits = limits;
        _gate = gate;
        _logger = logger;
        _unixPath = (endpoint as UnixDomainSocketEndPoint)?.ToString();
        _listener = _unixPath is null
            ? new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _listener.DualMode = true;
            }

            if (_unixPath is not null && File.Exists(_unixPath))
            {
                File.Delete(_unixPath);
            }

            _listener.Bind(endpoint);
            _listener.Listen(512);
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException)
        {
            _listener.Dispose();
            throw new IOException($"ring port: cannot listen on {endpoint}: {ex.Message}", ex);
        }

        BoundEndPoint = _unixPath is null ? _listener.LocalEndPoint! : endpoint;
    }

    /// <summary>The address and port, or the Unix socket, actually bound.</summary>
    public EndPoint BoundEndPoint { get; }

    /// <summary>The address and port actually bound (TCP servers only).</summary>
    public IPEndPoint LocalEndPoint => BoundEndPoint as IPEndPoint
        ?? throw new InvalidOperationException($"this server listens on the Unix socket {BoundEndPoint}, not on TCP.");

    /// <summary>Connections that reached HTTP/2 (passed the gate, when there is one) since the server started.</summary>
    public long Http2Connections => Interlocked.Read(ref _http2Connections);

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

        foreach (var socket in _accepted.Keys)
        {
            socket.Dispose();
        }

        RemoveSocketFile();
        await Task.WhenAny(Task.WhenAll(_accepted.Values.Append(_accepting)), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void RemoveSocketFile()
    {
        if (_unixPath is null)
        {
            return;
        }

        try
        {
            File.Delete(_unixPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Http2Log.SocketFileKept(_logger, _unixPath, ex.Message);
        }
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
                Http2Log.AcceptFailed(_logger, BoundEndPoint.ToString()!, ex.Message);
                continue;
            }

            RingSockets.Configure(socket);
            var serving = ServeAsync(socket);
            _accepted[socket] = serving;
            _ = serving.ContinueWith(_ => _accepted.TryRemove(socket, out Task? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        object? identity = null;
        if (_gate is not null)
        {
            var remote = RingSockets.Describe(socket);
            try
            {
                identity = await _gate(socket, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Http2Log.ConnectionEnded(_logger, remote, $"the connection gate failed: {ex.Message}");
            }

            if (identity is null || _stopping.IsCancellationRequested)
            {
                socket.Dispose();
                return;
            }
        }

        var connection = new Http2ServerConnection(socket, _method, _handler, _limits, identity, _logger);
        Interlocked.Increment(ref _http2Connections);
        _connections[connection] = 0;
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                connection.Abort();
            }

            await connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
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

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Ring port {Path}: cannot remove the Unix socket file: {Reason}")]
    public static partial void SocketFileKept(ILogger logger, string path, string reason);
}
