using System.Buffers;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed;
using Google.Protobuf;
using Grpc.Core;

namespace GenCluster.Fuzz.Targets;

/// <summary>
/// <c>ring-message</c>: the two things the ring port parses that are not HTTP/2. The input is one gRPC message of the
/// ring stream, decoded by <see cref="InboundFrame.ParseOwned"/> from a pooled buffer as the port hands it over (its
/// documented error: <see cref="RpcException"/>); and its first 116 bytes are a ClientHello, read by
/// <see cref="RingHandshake.Server"/> as the port reads it off the socket (shorter input: the peer closed early), with
/// its MAC checked against a secret.
/// </summary>
/// <remarks>
/// A message that parses is written again with the sender's encoder (<see cref="RingFrameHead"/> then the payload) and
/// must parse to the same fields and payload, or the target throws <see cref="FuzzInvariantException"/>. Accepted:
/// the message parses or the hello reads.
/// </remarks>
internal sealed class RingMessageTarget : IFuzzTarget
{
    public const string Name = "ring-message";

    private const string Secret = "fuzz-secret";

    private readonly ArrayPool<byte> _pool = new RingFramePool().Pool;

    public FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        var hello = ReadHello(input);
        var message = ParseMessage(input);
        return hello == FuzzOutcome.Accepted || message == FuzzOutcome.Accepted ? FuzzOutcome.Accepted : FuzzOutcome.Rejected;
    }

    private static FuzzOutcome ReadHello(ReadOnlySpan<byte> input)
    {
        if (input.Length < RingHandshake.ClientHelloBytes)
        {
            return FuzzOutcome.Rejected;
        }

        var server = new RingHandshake.Server();
        if (server.Read(input[..RingHandshake.ClientHelloBytes]) is not { } claim)
        {
            return FuzzOutcome.Rejected;
        }

        _ = claim.IsFor("fuzz-job");
        _ = server.Prove(Secret);
        return FuzzOutcome.Accepted;
    }

    private FuzzOutcome ParseMessage(ReadOnlySpan<byte> input)
    {
        InboundFrame frame;
        try
        {
            frame = InboundFrame.ParseOwned(Rented(input), input.Length, _pool);
        }
        catch (RpcException)
        {
            return FuzzOutcome.Rejected;
        }

        try
        {
            CheckRoundTrip(frame);
        }
        finally
        {
            frame.Release();
        }

        return FuzzOutcome.Accepted;
    }

    private void CheckRoundTrip(InboundFrame parsed)
    {
        var frame = new RingFrame
        {
            JobId = parsed.JobId, Round = parsed.Round, Sequence = parsed.Sequence, Bucket = parsed.Bucket, Chunk = parsed.Chunk,
            Step = parsed.Step, Offset = parsed.Offset, Dtype = parsed.Dtype, SenderRank = parsed.SenderRank, Abort = parsed.Abort,
            FailedRank = parsed.FailedRank, Reason = parsed.Reason,
        };
        var expectedReason = parsed.Reason.Length > RingFrameHead.MaxReasonChars ? parsed.Reason[..RingFrameHead.MaxReasonChars] : parsed.Reason;
        var head = new byte[RingFrameHead.MaxBytes];
        int length;
        try
        {
            length = RingFrameHead.Write(frame, parsed.PayloadLength, head);
        }
        catch (ArgumentException ex) when (ex.ParamName == "frame")
        {
            // A job id longer than any sender's head holds: the sender refuses to write it, as documented.
            return;
        }

        var message = new byte[length + parsed.PayloadLength];
        head.AsSpan(0, length).CopyTo(message);
        parsed.Payload.CopyTo(message.AsSpan(length));
        var again = InboundFrame.ParseOwned(Rented(message), message.Length, _pool);
        try
        {
            var before = (parsed.JobId, parsed.Round, parsed.Sequence, parsed.Bucket, parsed.Chunk, parsed.Step, parsed.Offset, parsed.Dtype,
                parsed.SenderRank, parsed.Abort, parsed.FailedRank, expectedReason);
            var after = (again.JobId, again.Round, again.Sequence, again.Bucket, again.Chunk, again.Step, again.Offset, again.Dtype,
                again.SenderRank, again.Abort, again.FailedRank, again.Reason);
            if (before != after || !parsed.Payload.SequenceEqual(again.Payload))
            {
                throw new FuzzInvariantException(
                    $"ring frame: written again by RingFrameHead it parses differently: {before} became {after}, payload {parsed.PayloadLength} became {again.PayloadLength} bytes");
            }
        }
        finally
        {
            again.Release();
        }
    }

    private byte[] Rented(ReadOnlySpan<byte> message)
    {
        var buffer = _pool.Rent(Math.Max(message.Length, 1));
        message.CopyTo(buffer);
        return buffer;
    }
}
