using GenCluster.Contracts.Ring;
using Google.Protobuf;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// Encodes a <see cref="RingFrame"/>'s fields ahead of its payload, so the payload can go to the socket straight
/// from the caller's buffer: the head is every field but <c>payload</c>, then the payload's tag and length. Protobuf
/// fields may come in any order, so head + payload bytes parse as the same <see cref="RingFrame"/>.
/// </summary>
internal static class RingFrameHead
{
    /// <summary>Room for the head of any ring frame (an abort's reason is cut to fit).</summary>
    public const int MaxBytes = Http2.GrpcStreamClient.MaxHeadBytes;

    /// <summary>Longest abort reason a head carries, in chars; a longer one is cut to it.</summary>
    public const int MaxReasonChars = 1024;

    private const byte PayloadTag = (RingFrame.PayloadFieldNumber << 3) | 2;

    /// <summary>Writes the head of <paramref name="frame"/> (its own payload is ignored) for a payload of <paramref name="payloadLength"/> bytes.</summary>
    /// <returns>The number of bytes written.</returns>
    public static int Write(RingFrame frame, int payloadLength, Span<byte> destination)
    {
        if (frame.Reason.Length > MaxReasonChars)
        {
            frame.Reason = frame.Reason[..MaxReasonChars];
        }

        var payload = frame.Payload;
        frame.Payload = ByteString.Empty;
        var length = frame.CalculateSize();
        if (length + 6 > destination.Length)
        {
            frame.Payload = payload;
            throw new ArgumentException($"ring frame head: {length} bytes of fields (job id {frame.JobId.Length} chars) do not fit the {destination.Length}-byte head buffer.", nameof(frame));
        }

        frame.WriteTo(destination[..length]);
        frame.Payload = payload;
        if (payloadLength == 0)
        {
            return length;
        }

        destination[length++] = PayloadTag;
        var value = (uint)payloadLength;
        while (value >= 0x80)
        {
            destination[length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[length++] = (byte)value;
        return length;
    }
}
