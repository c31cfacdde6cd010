using System.Buffers;
using System.Threading.Channels;

namespace GenCluster.Trainer.Distributed.Http2;

/// <summary>One gRPC message received whole into a buffer rented from the server's pool; the reader owns it.</summary>
internal readonly record struct RentedMessage(byte[] Buffer, int Length);

/// <summary>
/// The server side of one client-streaming call on <see cref="GrpcStreamServer"/>: request headers, the peer, a
/// cancellation token that fires when the client resets the stream or the connection drops, and the request
/// messages in order.
/// </summary>
internal sealed class GrpcServerCall
{
    private readonly Channel<RentedMessage> _messages;
    private volatile Exception? _failure;
    internal GrpcServerCall(
        IReadOnlyDictionary<string, string> headers, string peer, object? identity, ArrayPool<byte> pool, int bufferedMessages, CancellationToken cancellationToken)
    {
        Headers = headers;
        Peer = peer;
        Identity = identity;
        Pool = pool;
        CancellationToken = cancellationToken;
        _messages = Channel.CreateBounded<RentedMessage>(new BoundedChannelOptions(bufferedMessages)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Request headers by lower-case name (the last value when repeated).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>The client's address, as gRPC writes it (<c>ipv4:127.0.0.1:50432</c>).</summary>
    public string Peer { get; }

    /// <summary>
    /// What the server's connection gate established about the client before the connection's first HTTP/2 byte was
    /// read (see <see cref="GrpcStreamServer"/>); null when the server has no gate.
    /// </summary>
    public object? Identity { get; }

    /// <summary>The pool every message buffer is rented from (return them there).</summary>
    public ArrayPool<byte> Pool { get; }

    /// <summary>Fires when the client resets the stream or the connection is lost.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The next request message, or null once the client has half-closed the stream.</summary>
    /// <exception cref="IOException">The stream or connection failed before the client half-closed.</exception>
    public async ValueTask<RentedMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _messages.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException closed) when (closed.InnerException is null)
        {
            return null;
        }
        catch (ChannelClosedException closed)
        {
            throw new IOException(closed.InnerException!.Message, closed.InnerException);
        }
        catch (OperationCanceledException) when (_failure is { } failure)
        {
            // The stream failed (a reset, a lost connection) and the call's token fired with it: report why.
            throw new IOException(failure.Message, failure);
        }
    }

    internal ValueTask WriteAsync(RentedMessage message, CancellationToken cancellationToken) => _messages.Writer.WriteAsync(message, cancellationToken);

    internal void Complete(Exception? error = null)
    {
        _failure ??= error;
        _messages.Writer.TryComplete(error);
    }

    /// <summary>Returns the buffers of messages nobody will read.</summary>
    internal void Drain()
    {
        while (_messages.Reader.TryRead(out var left))
        {
            Pool.Return(left.Buffer);
        }
    }
}
