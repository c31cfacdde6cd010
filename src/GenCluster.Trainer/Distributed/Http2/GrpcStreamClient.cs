using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;

namespace GenCluster.Trainer.Distributed.Http2;

/// <summary>
/// One client-streaming gRPC call on a dedicated HTTP/2 connection, written for bulk transfer: each message goes out
/// as DATA frames as large as the server allows (the ring port allows 1 MiB) straight from the caller's
/// memory, two socket writes per frame and no user-space copy. SocketsHttpHandler, by contrast, copies every
/// message twice and cuts it into 16 KiB frames with a send call each. It speaks plain gRPC over cleartext HTTP/2
/// (prior knowledge) to any gRPC server; the ring uses it only for its successor stream.
/// </summary>
/// <remarks>
/// Failures surface as <see cref="RpcException"/>: the server's <c>grpc-status</c> and <c>grpc-message</c> when it
/// answers, <see cref="StatusCode.Unavailable"/> when the connection fails or closes, <see cref="StatusCode.Cancelled"/>
/// when a write is cancelled half-way (the stream is reset: a gRPC stream cannot resume inside a message).
/// </remarks>
internal sealed class GrpcStreamClient : IAsyncDisposable
{
    private const int StreamId = 1;
    private const int DefaultWindow = 65_535;
    private const int ReceiveWindow = 1 << 20;
    private const int MaxReceiveFrame = 16_384;

    /// <summary>Largest message head <see cref="WriteAsync"/> takes.</summary>
    public const int MaxHeadBytes = 4096;

    private readonly string _endpoint;
    private readonly string? _unixSocketPath;
    private Socket _socket;
    private readonly SemaphoreSlim _socketLock = new(1, 1);
    private readonly SemaphoreSlim _messageLock = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _settings = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Status> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _windowGate = new();
    private readonly byte[] _small = new byte[Http2FrameHeader.Size + 5 + MaxHeadBytes];
    private TaskCompletionSource _windowOpened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _connectionWindow = DefaultWindow;
    private long _streamWindow = DefaultWindow;
    private int _peerInitialWindow = DefaultWindow;
    private int _maxFrame = 16_384;
    private bool _endSent;
    private RpcException? _failure;
    private Task _reader = Task.CompletedTask;

    private GrpcStreamClient(string endpoint, string? unixSocketPath)
    {
        _endpoint = endpoint;
        _unixSocketPath = unixSocketPath;
        _socket = unixSocketPath is null ? NewTcpSocket() : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        if (unixSocketPath is not null) RingSockets.Configure(_socket);
        Ready = Task.CompletedTask;
    }

    /// <summary>The transport the connection uses; final once <see cref="Ready"/> completes.</summary>
    public RingTransport Transport { get; private set; }

    /// <summary>Why the Unix socket given to <see cref="Start"/> did not connect (the call then went over TCP); null when it did, or none was given.</summary>
    public string? UnixFallbackReason { get; private set; }

    /// <summary>Completes once the connection is up and the server's settings are known; faults if it cannot be.</summary>
    public Task Ready { get; private set; }

    /// <summary>
    /// The call's outcome: completes when the server sends its trailers with status OK; faults with
    /// <see cref="RpcException"/> on any other status, a reset stream or a lost connection.
    /// </summary>
    public Task ResponseAsync => _response.Task;

    /// <summary>
    /// Starts the call: connects to <paramref name="endpoint"/> (<c>http://host:port</c>) in the background, runs
    /// <paramref name="handshake"/> if given, and sends the request headers. Writes wait until the connection is ready.
    /// </summary>
    /// <param name="endpoint">The server, <c>http://host:port</c>.</param>
    /// <param name="method">The method's path.</param>
    /// <param name="metadata">Request headers.</param>
    /// <param name="connectTimeout">Longest the connection, the handshake and the server's SETTINGS may take together.</param>
    /// <param name="lifetime">Cancels the call.</param>
    /// <param name="handshake">
    /// Optional: runs on the connected socket before the HTTP/2 preface (the server must expect it); an
    /// <see cref="RpcException"/> it throws keeps its status.
    /// </param>
    /// <param name="unixSocketPath">
    /// Optional: the server's Unix domain socket, tried first; when it does not connect (no such file, nobody listening,
    /// no permission) the call goes to <paramref name="endpoint"/> over TCP instead (<see cref="UnixFallbackReason"/>).
    /// Once connected, the handshake and HTTP/2 run over it exactly as over TCP.
    /// </param>
    public static GrpcStreamClient Start(
        string endpoint, string method, IEnumerable<KeyValuePair<string, string>> metadata, TimeSpan connectTimeout, CancellationToken lifetime,
        Func<Socket, CancellationToken, Task>? handshake = null, string? unixSocketPath = null)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"endpoint: expected http://host:port (cleartext HTTP/2), got {endpoint}.", nameof(endpoint));
        }

        var client = new GrpcStreamClient(endpoint, unixSocketPath);
        client.Ready = client.ConnectAsync(uri, method, metadata.ToList(), connectTimeout, handshake, lifetime);
        client.Ready.ContinueWith(
            t =>
            {
                var error = t.Exception!.GetBaseException();
                var code = error is RpcException rpc ? rpc.StatusCode : StatusCode.Unavailable;
                var detail = error is RpcException refused ? refused.Status.Detail : error.Message;
                client.Fail(code, $"cannot open the stream to {endpoint}: {detail}");
            },
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return client;
    }

    /// <summary>
    /// Writes one gRPC message made of <paramref name="head"/> followed by <paramref name="payload"/>. Cancelling a
    /// write that has started resets the stream.
    /// </summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> head, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (head.Length > MaxHeadBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(head), head.Length, $"message head is larger than {MaxHeadBytes} bytes.");
        }

        await Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _messageLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        var started = false;
        try
        {
            ThrowIfDone();
            var remainingHead = head.Length + 5;
            var headWritten = false;
            var payloadOffset = 0;
            var total = remainingHead + payload.Length;
            while (total > 0)
            {
                var length = await ReserveAsync(Math.Min(total, _maxFrame), cancellationToken).ConfigureAwait(false);
                started = true;
                await _socketLock.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    // One write for the frame header (plus the message prefix and head on the first frame), one for
                    // the payload bytes the frame carries.
                    new Http2FrameHeader(length, Http2FrameType.Data, Http2Flags.None, StreamId).WriteTo(_small);
                    var small = Http2FrameHeader.Size;
                    var room = length;
                    if (!headWritten)
                    {
                        // The message prefix: not compressed, 4-byte big-endian length. Frames are at least 16 KiB,
                        // so the prefix and head always fit in the first one.
                        _small[small] = 0;
                        BinaryPrimitives.WriteInt32BigEndian(_small.AsSpan(small + 1), head.Length + payload.Length);
                        head.Span.CopyTo(_small.AsSpan(small + 5));
                        small += remainingHead;
                        room -= remainingHead;
                        headWritten = true;
                    }

                    await SendAsync(_small.AsMemory(0, small), cancellationToken).ConfigureAwait(false);
                    if (room > 0)
                    {
                        await SendAsync(payload.Slice(payloadOffset, room), cancellationToken).ConfigureAwait(false);
                        payloadOffset += room;
                    }
                }
                finally
                {
                    _socketLock.Release();
                }

                total -= length;
            }
        }
        catch (OperationCanceledException) when (started)
        {
            await ResetAsync("a write was cancelled part-way through a message").ConfigureAwait(false);
            throw;
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            throw Fail(StatusCode.Unavailable, $"writing to {_endpoint} failed: {ex.Message}");
        }
        finally
        {
            _messageLock.Release();
        }
    }

    /// <summary>Half-closes the request stream (END_STREAM); the server then sends its trailers.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _messageLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDone();
            await WriteFrameAsync(Http2FrameType.Data, Http2Flags.EndStreamOrAck, StreamId, [], cancellationToken).ConfigureAwait(false);
            _endSent = true;
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            throw Fail(StatusCode.Unavailable, $"closing the stream to {_endpoint} failed: {ex.Message}");
        }
        finally
        {
            _messageLock.Release();
        }
    }

    /// <summary>
    /// Closes the connection; a call still open fails with <see cref="StatusCode.Cancelled"/>. After
    /// <see cref="CompleteAsync"/> it first waits (up to 2 s) for the server's trailers, so the server sees an orderly
    /// end of the call rather than a reset connection.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_endSent)
        {
            await Task.WhenAny(_response.Task, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        }

        Fail(StatusCode.Cancelled, $"the stream to {_endpoint} was closed by this side");
        await _closing.CancelAsync().ConfigureAwait(false);
        var socket = Volatile.Read(ref _socket);
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Never connected or already closed.
        }

        socket.Dispose();
        await Task.WhenAny(_reader, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        _closing.Dispose();
    }

    private async Task ConnectAsync(
        Uri uri, string method, List<KeyValuePair<string, string>> metadata, TimeSpan timeout, Func<Socket, CancellationToken, Task>? handshake,
        CancellationToken lifetime)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(lifetime, _closing.Token);
        deadline.CancelAfter(timeout);
        EndPoint target = IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address)
            ? new IPEndPoint(address, uri.Port)
            : new DnsEndPoint(uri.Host, uri.Port);
        var connected = false;
        try
        {
            if (_unixSocketPath is not null)
            {
                connected = await TryConnectUnixAsync(_unixSocketPath, deadline.Token).ConfigureAwait(false);
            }

            if (!connected)
            {
                await _socket.ConnectAsync(target, deadline.Token).ConfigureAwait(false);
                Transport = RingTransport.Tcp;
                connected = true;
            }

            if (handshake is not null)
            {
                await handshake(_socket, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!lifetime.IsCancellationRequested && !_closing.IsCancellationRequested)
        {
            throw new TimeoutException(connected
                ? $"{_endpoint} did not complete the connection handshake within {timeout.TotalSeconds:0.###} s"
                : $"no connection to {_endpoint} within {timeout.TotalSeconds:0.###} s");
        }

        var opening = new List<byte>(512);
        opening.AddRange(Http2FrameHeader.ClientPreface.ToArray());
        Http2Frames.Add(opening, Http2FrameType.Settings, Http2Flags.None, 0, Http2Frames.Settings(
            (Http2Setting.HeaderTableSize, 4096), (Http2Setting.EnablePush, 0), (Http2Setting.InitialWindowSize, ReceiveWindow)));
        Http2Frames.Add(opening, Http2FrameType.WindowUpdate, Http2Flags.None, 0, Http2Frames.Word(ReceiveWindow));
        Http2Frames.Add(opening, Http2FrameType.Headers, Http2Flags.EndHeaders, StreamId, RequestHeaders(uri, method, metadata));
        _reader = ReadLoopAsync();
        await SendAsync(opening.ToArray(), deadline.Token).ConfigureAwait(false);
        await _settings.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Connects the Unix socket made in the constructor to <paramref name="path"/>; when that fails, puts a TCP socket in
    /// its place, notes why and returns false. Cancellation is not a failure of the socket and propagates.
    /// </summary>
    private async Task<bool> TryConnectUnixAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await _socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            Transport = RingTransport.Unix;
            return true;
        }
        catch (Exception ex) when (ex is SocketException or IOException or ArgumentException && !cancellationToken.IsCancellationRequested)
        {
            UnixFallbackReason = $"{path}: {ex.Message}";
        }

        var unix = _socket;
        Volatile.Write(ref _socket, NewTcpSocket());
        unix.Dispose();
        if (cancellationToken.IsCancellationRequested)
        {
            // Disposal may have run between the two writes and closed only the Unix socket.
            _socket.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
        }

        return false;
    }

    private static Socket NewTcpSocket()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        RingSockets.Configure(socket);
        return socket;
    }

    private static byte[] RequestHeaders(Uri uri, string method, List<KeyValuePair<string, string>> metadata)
    {
        var block = new List<byte>(256);
        Hpack.WriteIndexed(block, Hpack.MethodPost);
        Hpack.WriteIndexed(block, Hpack.SchemeHttp);
        Hpack.WriteLiteral(block, Hpack.PathName, method);
        Hpack.WriteLiteral(block, Hpack.AuthorityName, uri.Authority);
        Hpack.WriteLiteral(block, Hpack.ContentTypeName, "application/grpc");
        Hpack.WriteLiteral(block, "te", "trailers");
        foreach (var (name, value) in metadata)
        {
            Hpack.WriteLiteral(block, name.ToLowerInvariant(), value);
        }

        return block.ToArray();
    }

    private async Task ReadLoopAsync()
    {
        var decoder = new Hpack.Decoder(4096);
        var buffer = new byte[64 * 1024];
        var filled = 0;
        var headerBlock = new List<byte>();
        var blockEndsStream = false;
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _closing.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"{_endpoint} closed the connection");
                }

                filled += read;
                var consumed = 0;
                while (filled - consumed >= Http2FrameHeader.Size)
                {
                    var header = Http2FrameHeader.Read(buffer.AsSpan(consumed));
                    if (header.Length > MaxReceiveFrame)
                    {
                        throw new InvalidDataException($"{_endpoint} sent a {header.Length}-byte frame, larger than the {MaxReceiveFrame} bytes allowed");
                    }

                    if (filled - consumed < Http2FrameHeader.Size + header.Length)
                    {
                        break;
                    }

                    var payload = buffer.AsMemory(consumed + Http2FrameHeader.Size, header.Length);
                    consumed += Http2FrameHeader.Size + header.Length;
                    switch (header.Type)
                    {
                        case Http2FrameType.Settings when !header.Has(Http2Flags.EndStreamOrAck):
                            ApplySettings(payload.Span);
                            await WriteFrameAsync(Http2FrameType.Settings, Http2Flags.EndStreamOrAck, 0, [], _closing.Token).ConfigureAwait(false);
                            _settings.TrySetResult();
                            break;
                        case Http2FrameType.Ping when !header.Has(Http2Flags.EndStreamOrAck):
                            await WriteFrameAsync(Http2FrameType.Ping, Http2Flags.EndStreamOrAck, 0, payload.ToArray(), _closing.Token).ConfigureAwait(false);
                            break;
                        case Http2FrameType.WindowUpdate:
                            OpenWindow(header.StreamId, BinaryPrimitives.ReadInt32BigEndian(payload.Span) & int.MaxValue);
                            break;
                        case Http2FrameType.Headers or Http2FrameType.Continuation when header.StreamId == StreamId:
                            if (header.Type == Http2FrameType.Headers)
                            {
                                headerBlock.Clear();
                                headerBlock.AddRange(Http2Frames.HeaderBlockFragment(header, payload.Span));
                                blockEndsStream = header.Has(Http2Flags.EndStreamOrAck);
                            }
                            else
                            {
                                headerBlock.AddRange(payload.Span.ToArray());
                            }

                            if (header.Has(Http2Flags.EndHeaders))
                            {
                                OnHeaders(decoder.Decode(headerBlock.ToArray()), blockEndsStream);
                            }

                            break;
                        case Http2FrameType.Data when header.StreamId == StreamId && header.Has(Http2Flags.EndStreamOrAck):
                            Fail(StatusCode.Internal, $"{_endpoint} ended the response without gRPC trailers");
                            break;
                        case Http2FrameType.RstStream when header.StreamId == StreamId:
                            var code = BinaryPrimitives.ReadUInt32BigEndian(payload.Span);
                            Fail(code == 0x8 ? StatusCode.Cancelled : StatusCode.Unavailable, $"{_endpoint} reset the stream (HTTP/2 error code {code})");
                            break;
                        case Http2FrameType.GoAway:
                            var last = BinaryPrimitives.ReadInt32BigEndian(payload.Span) & int.MaxValue;
                            if (last < StreamId)
                            {
                                Fail(StatusCode.Unavailable, $"{_endpoint} refused the stream (GOAWAY, error code {BinaryPrimitives.ReadUInt32BigEndian(payload.Span[4..])})");
                            }

                            break;
                        default:
                            // DATA of the response (an acknowledgement), PRIORITY, SETTINGS and PING acknowledgements.
                            break;
                    }
                }

                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
            }
        }
        catch (Exception ex)
        {
            Fail(StatusCode.Unavailable, _closing.IsCancellationRequested
                ? $"the stream to {_endpoint} was closed by this side"
                : $"the connection to {_endpoint} failed: {ex.Message}");
            _settings.TrySetException(ex);
        }
    }

    private void OnHeaders(List<(string Name, string Value)> fields, bool endsStream)
    {
        string? status = null, grpcStatus = null, grpcMessage = null;
        foreach (var (name, value) in fields)
        {
            switch (name)
            {
                case ":status": status = value; break;
                case "grpc-status": grpcStatus = value; break;
                case "grpc-message": grpcMessage = Uri.UnescapeDataString(value); break;
                default: break;
            }
        }

        if (status is not null and not "200")
        {
            Fail(StatusCode.Unavailable, $"{_endpoint} answered HTTP status {status}");
            return;
        }

        if (grpcStatus is null)
        {
            if (endsStream)
            {
                Fail(StatusCode.Internal, $"{_endpoint} ended the response without grpc-status");
            }

            return;
        }

        var code = int.TryParse(grpcStatus, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
            ? (StatusCode)parsed
            : StatusCode.Unknown;
        if (code == StatusCode.OK)
        {
            _response.TrySetResult(Status.DefaultSuccess);
            Fail(StatusCode.Internal, "the call is complete");
        }
        else
        {
            Fail(code, grpcMessage ?? "");
        }
    }

    private void ApplySettings(ReadOnlySpan<byte> payload)
    {
        for (var i = 0; i + 6 <= payload.Length; i += 6)
        {
            var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
            switch ((Http2Setting)BinaryPrimitives.ReadUInt16BigEndian(payload[i..]))
            {
                case Http2Setting.InitialWindowSize:
                    lock (_windowGate)
                    {
                        _streamWindow += (int)value - _peerInitialWindow;
                        _peerInitialWindow = (int)value;
                    }

                    SignalWindow();
                    break;
                case Http2Setting.MaxFrameSize:
                    _maxFrame = (int)Math.Clamp(value, 16_384u, 16_777_215u);
                    break;
                default:
                    break;
            }
        }
    }

    private void OpenWindow(int streamId, int increment)
    {
        lock (_windowGate)
        {
            if (streamId == 0)
            {
                _connectionWindow += increment;
            }
            else if (streamId == StreamId)
            {
                _streamWindow += increment;
            }
        }

        SignalWindow();
    }

    private void SignalWindow()
    {
        TaskCompletionSource opened;
        lock (_windowGate)
        {
            opened = _windowOpened;
            _windowOpened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        opened.TrySetResult();
    }

    /// <summary>Takes up to <paramref name="wanted"/> bytes of send window, waiting for the server to open it.</summary>
    private async ValueTask<int> ReserveAsync(int wanted, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task opened;
            lock (_windowGate)
            {
                ThrowIfDone();
                var available = Math.Min(_connectionWindow, _streamWindow);
                if (available > 0)
                {
                    var granted = (int)Math.Min(available, wanted);
                    _connectionWindow -= granted;
                    _streamWindow -= granted;
                    return granted;
                }

                opened = _windowOpened.Task;
            }

            await Task.WhenAny(opened, _response.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ResetAsync(string why)
    {
        Fail(StatusCode.Cancelled, $"the stream to {_endpoint} was reset: {why}");
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WriteFrameAsync(Http2FrameType.RstStream, Http2Flags.None, StreamId, Http2Frames.Word(0x8), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection is gone anyway.
        }
    }

    private void ThrowIfDone()
    {
        if (_failure is { } failure)
        {
            throw failure;
        }

        if (_endSent)
        {
            throw new InvalidOperationException($"the stream to {_endpoint} is already complete");
        }
    }

    private RpcException Fail(StatusCode code, string detail)
    {
        var failure = new RpcException(new Status(code, detail));
        lock (_windowGate)
        {
            _failure ??= failure;
            failure = _failure;
        }

        if (code != StatusCode.OK)
        {
            _response.TrySetException(failure);
        }

        SignalWindow();
        return failure;
    }

    private async Task WriteFrameAsync(Http2FrameType type, Http2Flags flags, int streamId, byte[] payload, CancellationToken cancellationToken)
    {
        var frame = Http2Frames.Single(type, flags, streamId, payload);
        await _socketLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SendAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _socketLock.Release();
        }
    }

    private ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        RingSockets.SendAllAsync(_socket, bytes, cancellationToken);
}
