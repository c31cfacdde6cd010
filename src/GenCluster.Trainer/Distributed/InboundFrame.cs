using System.Buffers;
using System.Text;
using GenCluster.Contracts.Ring;
using Grpc.Core;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// A received <see cref="RingFrame"/> whose payload stays in the pooled buffer the ring port received the message
/// into, so the receiving side neither copies nor allocates per frame. <see cref="Release"/> returns the buffer once
/// the payload is consumed.
/// </summary>
internal sealed class InboundFrame
{
    private readonly ArrayPool<byte> _pool;
    private byte[]? _rented;
    private int _payloadOffset;

    private InboundFrame(ArrayPool<byte> pool) => _pool = pool;

    public string JobId { get; private set; } = "";

    public long Round { get; private set; }

    public long Sequence { get; private set; }

    public int Bucket { get; private set; }

    public int Chunk { get; private set; }

    public int Step { get; private set; }

    public int Offset { get; private set; }

    public RingDtype Dtype { get; private set; }

    public int SenderRank { get; private set; }

    public bool Abort { get; private set; }

    public int FailedRank { get; private set; }

    public string Reason { get; private set; } = "";

    public int PayloadLength { get; private set; }

    public ReadOnlySpan<byte> Payload => _rented is null ? [] : _rented.AsSpan(_payloadOffset, PayloadLength);

    public void Release()
    {
        if (_rented is { } rented)
        {
            _rented = null;
            _pool.Return(rented);
        }
    }

    /// <summary>
    /// Decodes a message that already sits in a buffer rented from <paramref name="pool"/>: the payload stays where it
    /// is and the frame owns the buffer from now on (<see cref="Release"/> returns it, also when parsing fails).
    /// </summary>
    /// <remarks>Decodes protobuf fields 1..13 of <c>RingFrame</c>; unknown fields are skipped.</remarks>
    public static InboundFrame ParseOwned(byte[] message, int messageLength, ArrayPool<byte> pool)
    {
        var frame = new InboundFrame(pool) { _rented = message };
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(message, 0, messageLength));
        try
        {
            while (!reader.End)
            {
                var tag = ReadVarint(ref reader);
                var field = (int)(tag >> 3);
                switch ((int)(tag & 7))
                {
                    case 0:
                        frame.SetVarint(field, ReadVarint(ref reader));
                        break;
                    case 1:
                        Skip(ref reader, 8);
                        break;
                    case 5:
                        Skip(ref reader, 4);
                        break;
                    case 2:
                        frame.SetBytes(field, ref reader, ReadVarint(ref reader));
                        break;
                    default:
                        throw new RpcException(new Status(StatusCode.InvalidArgument, $"ring frame: unsupported wire type {tag & 7} for field {field}"));
                }
            }
        }
        catch
        {
            frame.Release();
            throw;
        }

        return frame;
    }

    private void SetVarint(int field, ulong value)
    {
        switch (field)
        {
            case 2: Round = (long)value; break;
            case 3: Sequence = (long)value; break;
            case 4: Bucket = (int)(long)value; break;
            case 5: Chunk = (int)(long)value; break;
            case 6: Step = (int)(long)value; break;
            case 7: Offset = (int)(long)value; break;
            case 8: Dtype = (RingDtype)(int)(long)value; break;
            case 10: SenderRank = (int)(long)value; break;
            case 11: Abort = value != 0; break;
            case 12: FailedRank = (int)(long)value; break;
            default: break;
        }
    }

    private void SetBytes(int field, ref SequenceReader<byte> reader, ulong claimed)
    {
        // Compared before any narrowing: a length varint may claim up to 2^64 - 1 bytes.
        if ((ulong)reader.Remaining < claimed)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"ring frame: field {field} claims {claimed} bytes, {reader.Remaining} left"));
        }

        var length = (int)claimed;

        switch (field)
        {
            case 1:
                JobId = ReadString(ref reader, length);
                break;
            case 13:
                Reason = ReadString(ref reader, length);
                break;
            case 9:
                _payloadOffset = (int)reader.Consumed;
                PayloadLength = length;
                reader.Advance(length);
                break;
            default:
                reader.Advance(length);
                break;
        }
    }

    private static string ReadString(ref SequenceReader<byte> reader, int length)
    {
        var text = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, length));
        reader.Advance(length);
        return text;
    }

    private static void Skip(ref SequenceReader<byte> reader, int count)
    {
        if (reader.Remaining < count)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "ring frame: truncated fixed-width field"));
        }

        reader.Advance(count);
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "ring frame: truncated varint"));
            }

            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw new RpcException(new Status(StatusCode.InvalidArgument, "ring frame: varint longer than 10 bytes"));
    }
}
