using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Distributed.Http2;

/// <summary>
/// One accepted HTTP/2 connection of <see cref="GrpcStreamServer"/>: reads frames, assembles request messages straight
/// into pooled buffers, runs the handler for the connection's one call and writes its response and trailers.
/// </summary>
internal sealed class Http2ServerConnection
{
    private const int DefaultWindow = 65_535;
    private const int MaxHeaderBlock = 64 * 1024;
    private const int SmallRead = 256;
    private const uint NoError = 0x0, ProtocolError = 0x1, FrameSizeError = 0x6, RefusedStream = 0x7, Cancel = 0x8;

    private readonly Socket _socket;
    private readonly string _method;
    private readonly Func<GrpcServerCall, Task<byte[]>> _handler;
    private readonly GrpcStreamServerLimits _limits;
    private readonly ILogger _logger;
    private readonly object? _identity;
    private readonly string _peer;
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Hpack.Decoder _decoder = new(4096);
    private readonly byte[] _buffer = new byte[256 * 1024];
    private readonly byte[] _prefix = new byte[5];
    private readonly List<byte> _headerBlock = [];
    private int _start;
    private int _end;
    private int _streamId;
    private int _headersStream;
    private bool _headersEndStream;
    private GrpcServerCall? _call;
    private CancellationTokenSource? _callCancel;
    private Task _handlerTask = Task.CompletedTask;
    private bool _requestEnded;
    private volatile bool _discarding;
    private volatile bool _responded;
    private int _prefixFilled;
    private byte[]? _message;
    private int _messageLength;
    private int _messageFilled;
    private long _credit;

    /// <param name="socket">The accepted connection, positioned at the client preface.</param>
    /// <param name="method">The one method served.</param>
    /// <param name="handler">Runs the call.</param>
    /// <param name="limits">Windows, frame and message sizes, buffer pool.</param>
    /// <param name="identity">What the server's connection gate authenticated, handed to the call; null without a gate.</param>
    /// <param name="logger">Logger.</param>
    public Http2ServerConnection(
        Socket socket, string method, Func<GrpcServerCall, Task<byte[]>> handler, GrpcStreamServerLimits limits, object? identity, ILogger logger)
    {
        _socket = socket;
        _method = method;
        _handler = handler;
        _limits = limits;
        _identity = identity;
        _logger = logger;
        _peer = RingSockets.Describe(socket);
    }

    /// <summary>Closes the connection now; the running call sees cancellation.</summary>
    public void Abort()
    {
        try
        {
            _closing.Cancel();
            _socket.Dispose();
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }

    public async Task RunAsync()
    {
        var reason = "closed by the client";
        try
        {
            await EnsureAsync(Http2FrameHeader.ClientPreface.Length).ConfigureAwait(false);
            if (!_buffer.AsSpan(_start, Http2FrameHeader.ClientPreface.Length).SequenceEqual(Http2FrameHeader.ClientPreface))
            {
                reason = "not an HTTP/2 prior-knowledge connection";
                return;
            }

            _start += Http2FrameHeader.ClientPreface.Length;
            var opening = new List<byte>(64);
            Http2Frames.Add(opening, Http2FrameType.Settings, Http2Flags.None, 0, Http2Frames.Settings(
                (Http2Setting.MaxConcurrentStreams, 1), (Http2Setting.InitialWindowSize, _limits.WindowBytes), (Http2Setting.MaxFrameSize, _limits.MaxFrameBytes)));
            if (_limits.WindowBytes > DefaultWindow)
            {
                Http2Frames.Add(opening, Http2FrameType.WindowUpdate, Http2Flags.None, 0, Http2Frames.Word((uint)(_limits.WindowBytes - DefaultWindow)));
            }

            await SendAsync(opening.ToArray()).ConfigureAwait(false);
            while (await TryEnsureAsync(Http2FrameHeader.Size).ConfigureAwait(false))
            {
                var header = Http2FrameHeader.Read(_buffer.AsSpan(_start));
                _start += Http2FrameHeader.Size;
                if (header.Length > _limits.MaxFrameBytes)
                {
                    await GoAwayAsync(FrameSizeError).ConfigureAwait(false);
                    reason = $"the client sent a {header.Length}-byte frame, larger than the {_limits.MaxFrameBytes} bytes allowed";
                    return;
                }

                if (Http2Frames.SizeError(header) is { } sizeError)
                {
                    await GoAwayAsync(FrameSizeError).ConfigureAwait(false);
                    reason = $"the client sent {sizeError}";
                    return;
                }

                if (header.Type == Http2FrameType.Data)
                {
                    await OnDataAsync(header).ConfigureAwait(false);
                    continue;
                }

                var payload = await ReadPayloadAsync(header.Length).ConfigureAwait(false);
                await OnControlFrameAsync(header, payload).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException)
        {
            reason = _closing.IsCancellationRequested ? "server stopping" : ex.Message;
        }
        finally
        {
            await EndAsync(reason).ConfigureAwait(false);
        }
    }

    private async Task EndAsync(string reason)
    {
        Http2Log.ConnectionEnded(_logger, _peer, reason);
        if (_call is { } call && !_requestEnded)
        {
            call.Complete(new IOException($"the connection from {_peer} ended before the call did: {reason}"));
        }

        ReturnPartialMessage();
        if (_callCancel is { } cancel && !_responded)
        {
            await cancel.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAny(_handlerTask, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        _call?.Drain();
        Abort();
    }

    private async Task OnControlFrameAsync(Http2FrameHeader header, byte[] payload)
    {
        switch (header.Type)
        {
            case Http2FrameType.Headers:
                _headerBlock.Clear();
                _headerBlock.AddRange(Http2Frames.HeaderBlockFragment(header, payload));
                _headersStream = header.StreamId;
                _headersEndStream = header.Has(Http2Flags.EndStreamOrAck);
                break;
            case Http2FrameType.Continuation when header.StreamId == _headersStream:
                _headerBlock.AddRange(payload);
                break;
            case Http2FrameType.Settings when !header.Has(Http2Flags.EndStreamOrAck):
                await SendFrameAsync(Http2FrameType.Settings, Http2Flags.EndStreamOrAck, 0, []).ConfigureAwait(false);
                return;
            case Http2FrameType.Ping when !header.Has(Http2Flags.EndStreamOrAck):
                await SendFrameAsync(Http2FrameType.Ping, Http2Flags.EndStreamOrAck, 0, payload).ConfigureAwait(false);
                return;
            case Http2FrameType.RstStream when header.StreamId == _streamId && _call is not null:
                _requestEnded = true;
                ReturnPartialMessage();
                _call.Complete(new IOException($"{_peer} reset the stream (HTTP/2 error code {BinaryPrimitives.ReadUInt32BigEndian(payload)})"));
                await _callCancel!.CancelAsync().ConfigureAwait(false);
                return;
            default:
                // WINDOW_UPDATE (responses are a few bytes), PRIORITY, GOAWAY (the client closes next), acknowledgements.
                return;
        }

        if (_headerBlock.Count > MaxHeaderBlock)
        {
            throw new InvalidDataException($"{_peer} sent more than {MaxHeaderBlock} bytes of headers");
        }

        if (header.Has(Http2Flags.EndHeaders))
        {
            await OnRequestHeadersAsync(_headersStream, _decoder.Decode(_headerBlock.ToArray()), _headersEndStream).ConfigureAwait(false);
        }
    }

    private async Task OnRequestHeadersAsync(int streamId, List<(string Name, string Value)> fields, bool endStream)
    {
        if (streamId == _streamId)
        {
            // Trailers from the client end its request.
            if (endStream)
            {
                EndRequest();
            }

            return;
        }

        if (_streamId != 0)
        {
            await SendFrameAsync(Http2FrameType.RstStream, Http2Flags.None, streamId, Http2Frames.Word(RefusedStream)).ConfigureAwait(false);
            return;
        }

        _streamId = streamId;
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in fields)
        {
            headers[name] = value;
        }

        headers.TryGetValue(":path", out var path);
        headers.TryGetValue("content-type", out var contentType);
        if (!headers.TryGetValue(":method", out var verb) || verb != "POST" || contentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            _discarding = true;
            _requestEnded = endStream;
            await RespondAsync(StatusCode.Internal, $"expected a gRPC POST (content-type application/grpc), got {verb} {contentType}", null).ConfigureAwait(false);
            return;
        }

        if (path != _method)
        {
            _discarding = true;
            _requestEnded = endStream;
            await RespondAsync(StatusCode.Unimplemented, $"this port serves only {_method}, not {path}", null).ConfigureAwait(false);
            return;
        }

        _callCancel = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        _call = new GrpcServerCall(headers, _peer, _identity, _limits.Pool, _limits.BufferedMessages, _callCancel.Token);
        _handlerTask = Task.Run(() => RunHandlerAsync(_call));
        if (endStream)
        {
            EndRequest();
        }
    }

    private async Task RunHandlerAsync(GrpcServerCall call)
    {
        try
        {
            var reply = await _handler(call).ConfigureAwait(false);
            await RespondAsync(StatusCode.OK, "", reply).ConfigureAwait(false);
        }
        catch (RpcException rpc)
        {
            await RespondAsync(rpc.StatusCode, rpc.Status.Detail, null).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException && call.CancellationToken.IsCancellationRequested)
        {
            await RespondAsync(StatusCode.Cancelled, "the call was cancelled", null).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await RespondAsync(StatusCode.Unknown, $"{ex.GetType().Name}: {ex.Message}", null).ConfigureAwait(false);
        }
        finally
        {
            // Nobody reads the call's messages any more: drop what still arrives, and wake a delivery waiting for room in
            // the full queue, or the read loop would wait there for good and never see the connection end.
            _discarding = true;
            await _callCancel!.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends the response (headers, message, trailers) or trailers only, then stops the request side.</summary>
    private async Task RespondAsync(StatusCode status, string detail, byte[]? reply)
    {
        if (_responded)
        {
            return;
        }

        _responded = true;
        try
        {
            var frames = new List<byte>(256);
            var block = new List<byte>(128);
            Hpack.WriteIndexed(block, Hpack.Status200);
            Hpack.WriteLiteral(block, Hpack.ContentTypeName, "application/grpc");
            if (reply is not null)
            {
                Http2Frames.Add(frames, Http2FrameType.Headers, Http2Flags.EndHeaders, _streamId, block.ToArray());
                var message = new byte[5 + reply.Length];
                BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), reply.Length);
                reply.CopyTo(message, 5);
                Http2Frames.Add(frames, Http2FrameType.Data, Http2Flags.None, _streamId, message);
                block.Clear();
            }

            Hpack.WriteLiteral(block, "grpc-status", ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (detail.Length > 0)
            {
                Hpack.WriteLiteral(block, "grpc-message", PercentEncode(detail.Length > 4096 ? detail[..4096] : detail));
            }

            Http2Frames.Add(frames, Http2FrameType.Headers, Http2Flags.EndHeaders | Http2Flags.EndStreamOrAck, _streamId, block.ToArray());
            if (!_requestEnded)
            {
                // The answer is final: tell the client to stop sending (RFC 9113 section 8.1).
                Http2Frames.Add(frames, Http2FrameType.RstStream, Http2Flags.None, _streamId, Http2Frames.Word(NoError));
            }

            await SendAsync(frames.ToArray()).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client is gone; there is nobody to tell.
        }
    }

    private async Task OnDataAsync(Http2FrameHeader header)
    {
        await ReceiveDataAsync(header).ConfigureAwait(false);
        // Credit returns as soon as a frame is in: a message larger than the window must still be able to complete.
        // What bounds memory is the call's message queue: when it is full this loop stops reading the socket.
        Consumed(header.Length);
    }

    private async Task ReceiveDataAsync(Http2FrameHeader header)
    {
        var remaining = header.Length;
        var padding = 0;
        if (header.Has(Http2Flags.Padded) && remaining > 0)
        {
            await EnsureAsync(1).ConfigureAwait(false);
            padding = _buffer[_start++];
            remaining--;
            if (padding > remaining)
            {
                throw new InvalidDataException($"{_peer} sent a DATA frame with {padding} bytes of padding in {remaining}");
            }

            remaining -= padding;
        }

        var accepting = header.StreamId == _streamId && _call is not null && !_requestEnded && !_discarding;
        if (header.StreamId == _streamId && header.Has(Http2Flags.EndStreamOrAck))
        {
            _requestEnded |= !accepting;
        }

        if (!accepting)
        {
            // Data for a stream that is over (or never started) still counts against the connection window.
            await SkipAsync(remaining + padding).ConfigureAwait(false);
            return;
        }

        while (remaining > 0)
        {
            if (_message is null)
            {
                await EnsureAsync(1).ConfigureAwait(false);
                var take = Math.Min(Math.Min(remaining, 5 - _prefixFilled), _end - _start);
                _buffer.AsSpan(_start, take).CopyTo(_prefix.AsSpan(_prefixFilled));
                _start += take;
                _prefixFilled += take;
                remaining -= take;
                if (_prefixFilled == 5 && !await BeginMessageAsync().ConfigureAwait(false))
                {
                    await SkipAsync(remaining + padding).ConfigureAwait(false);
                    return;
                }

                continue;
            }

            var want = Math.Min(remaining, _messageLength - _messageFilled);
            int got;
            if (_end > _start)
            {
                got = Math.Min(want, _end - _start);
                _buffer.AsSpan(_start, got).CopyTo(_message.AsSpan(_messageFilled));
                _start += got;
            }
            else
            {
                // Nothing buffered: receive this frame's bytes straight into the message.
                got = await _socket.ReceiveAsync(_message.AsMemory(_messageFilled, want), SocketFlags.None, _closing.Token).ConfigureAwait(false);
                if (got == 0)
                {
                    throw new IOException($"{_peer} closed the connection inside a message");
                }
            }

            _messageFilled += got;
            remaining -= got;
            if (_messageFilled == _messageLength)
            {
                await DeliverAsync().ConfigureAwait(false);
            }
        }

        await SkipAsync(padding).ConfigureAwait(false);

        if (header.Has(Http2Flags.EndStreamOrAck))
        {
            EndRequest();
        }
    }

    /// <summary>Starts the message whose 5-byte prefix is complete; false when the call had to end instead.</summary>
    private async Task<bool> BeginMessageAsync()
    {
        var length = BinaryPrimitives.ReadInt32BigEndian(_prefix.AsSpan(1));
        _prefixFilled = 0;
        string? refusal = null;
        var code = StatusCode.OK;
        if (_prefix[0] != 0)
        {
            (code, refusal) = (StatusCode.Unimplemented, "compressed messages are not supported on this port");
        }
        else if (length < 0 || length > _limits.MaxMessageBytes)
        {
            (code, refusal) = (StatusCode.ResourceExhausted, $"message of {length} bytes exceeds the {_limits.MaxMessageBytes} allowed");
        }

        if (refusal is not null)
        {
            _discarding = true;
            _call!.Complete(new IOException(refusal));
            await _callCancel!.CancelAsync().ConfigureAwait(false);
            await RespondAsync(code, refusal, null).ConfigureAwait(false);
            return false;
        }

        _message = _limits.Pool.Rent(Math.Max(length, 1));
        _messageLength = length;
        _messageFilled = 0;
        if (length == 0)
        {
            await DeliverAsync().ConfigureAwait(false);
        }

        return true;
    }

    private async Task DeliverAsync()
    {
        var message = new RentedMessage(_message!, _messageLength);
        _message = null;
        try
        {
            await _call!.WriteAsync(message, _callCancel!.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            // The handler finished or the call was cancelled: nobody reads this message.
            _limits.Pool.Return(message.Buffer);
        }
    }

    private void EndRequest()
    {
        _requestEnded = true;
        if (_message is not null || _prefixFilled > 0)
        {
            ReturnPartialMessage();
            _call?.Complete(new IOException($"{_peer} ended the stream inside a message"));
            return;
        }

        _call?.Complete();
    }

    private void ReturnPartialMessage()
    {
        if (_message is { } partial)
        {
            _message = null;
            _limits.Pool.Return(partial);
        }

        _prefixFilled = 0;
    }

    /// <summary>Gives flow-control credit back once a quarter of the window has come in.</summary>
    private void Consumed(int bytes)
    {
        _credit += bytes;
        if (_credit < _limits.WindowBytes / 4)
        {
            return;
        }

        var granted = (int)_credit;
        _credit = 0;

        var frames = new List<byte>(26);
        Http2Frames.Add(frames, Http2FrameType.WindowUpdate, Http2Flags.None, 0, Http2Frames.Word((uint)granted));
        if (_streamId != 0 && !_requestEnded && !_responded)
        {
            Http2Frames.Add(frames, Http2FrameType.WindowUpdate, Http2Flags.None, _streamId, Http2Frames.Word((uint)granted));
        }

        _ = SendQuietlyAsync(frames.ToArray());
    }

    private async Task SendQuietlyAsync(byte[] bytes)
    {
        try
        {
            await SendAsync(bytes).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection is ending; the read loop reports why.
        }
    }

    private async Task GoAwayAsync(uint code)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(payload, _streamId);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), code);
        await SendFrameAsync(Http2FrameType.GoAway, Http2Flags.None, 0, payload).ConfigureAwait(false);
    }

    private static string PercentEncode(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private async ValueTask<byte[]> ReadPayloadAsync(int length)
    {
        var payload = new byte[length];
        var filled = 0;
        while (filled < length)
        {
            await EnsureAsync(1).ConfigureAwait(false);
            var take = Math.Min(length - filled, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(payload.AsSpan(filled));
            _start += take;
            filled += take;
        }

        return payload;
    }

    private async ValueTask SkipAsync(int length)
    {
        while (length > 0)
        {
            await EnsureAsync(1).ConfigureAwait(false);
            var take = Math.Min(length, _end - _start);
            _start += take;
            length -= take;
        }
    }

    private async ValueTask EnsureAsync(int count)
    {
        if (!await TryEnsureAsync(count).ConfigureAwait(false))
        {
            throw new IOException($"{_peer} closed the connection mid-frame");
        }
    }

    /// <summary>Buffers at least <paramref name="count"/> bytes; false on a clean end of stream before any of them.</summary>
    private async ValueTask<bool> TryEnsureAsync(int count)
    {
        while (_end - _start < count)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            // Read little more than asked for: bytes after a frame header are usually a DATA payload, which
            // ReceiveDataAsync receives straight into its message when they are not already buffered here.
            var room = Math.Min(_buffer.Length - _end, Math.Max(count - (_end - _start), SmallRead));
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end, room), SocketFlags.None, _closing.Token).ConfigureAwait(false);
            if (read == 0)
            {
                if (_end - _start == 0)
                {
                    return false;
                }

                throw new IOException($"{_peer} closed the connection mid-frame");
            }

            _end += read;
        }

        return true;
    }

    private async Task SendFrameAsync(Http2FrameType type, Http2Flags flags, int streamId, byte[] payload)
    {
        await SendAsync(Http2Frames.Single(type, flags, streamId, payload)).ConfigureAwait(false);
    }

    private async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _sendLock.WaitAsync(_closing.Token).ConfigureAwait(false);
        try
        {
            await RingSockets.SendAllAsync(_socket, bytes, _closing.Token).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
