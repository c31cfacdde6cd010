using System.Buffers;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed;
using Google.Protobuf;

namespace GenCluster.Trainer.Tests.Distributed;

public class RingFrameHeadTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(262_144)]
    public void HeadFollowedByPayloadParsesAsTheSameFrame(int payloadLength)
    {
        var payload = Enumerable.Range(0, payloadLength).Select(i => (byte)(i * 13)).ToArray();
        var frame = new RingFrame
        {
            JobId = "job-ä", Round = 1L << 33, Sequence = 99, Bucket = 2, Chunk = 3, Step = 4, Offset = 1 << 20,
            Dtype = RingDtype.Bf16, SenderRank = 5, FailedRank = 6, Reason = "why",
        };
        var head = new byte[RingFrameHead.MaxBytes];

        var length = RingFrameHead.Write(frame, payload.Length, head);
        var wire = head.AsSpan(0, length).ToArray().Concat(payload).ToArray();

        var generated = RingFrame.Parser.ParseFrom(wire);
        Assert.Equal(frame.JobId, generated.JobId);
        Assert.Equal((frame.Round, frame.Sequence, frame.Bucket, frame.Chunk, frame.Step, frame.Offset), (generated.Round, generated.Sequence, generated.Bucket, generated.Chunk, generated.Step, generated.Offset));
        Assert.Equal((frame.Dtype, frame.SenderRank, frame.FailedRank, frame.Reason), (generated.Dtype, generated.SenderRank, generated.FailedRank, generated.Reason));
        Assert.Equal(payload, generated.Payload.ToByteArray());

        var rented = ArrayPool<byte>.Shared.Rent(wire.Length);
        wire.CopyTo(rented, 0);
        var inbound = InboundFrame.ParseOwned(rented, wire.Length, ArrayPool<byte>.Shared);
        Assert.Equal(payload, inbound.Payload.ToArray());
        Assert.Equal((99L, 3, 4, 1 << 20), (inbound.Sequence, inbound.Chunk, inbound.Step, inbound.Offset));
        inbound.Release();
        Assert.True(frame.Payload.IsEmpty, "writing the head must leave the frame's own payload untouched");
    }

    [Fact]
    public void LongAbortReasonIsCutToFitTheHead()
    {
        var frame = new RingFrame { JobId = "j", Abort = true, Reason = new string('ü', 10_000) };
        var head = new byte[RingFrameHead.MaxBytes];

        var length = RingFrameHead.Write(frame, 0, head);

        var parsed = RingFrame.Parser.ParseFrom(head.AsSpan(0, length).ToArray());
        Assert.True(parsed.Abort);
        Assert.Equal(new string('ü', 1024), parsed.Reason);
    }

    [Fact]
    public void HeadThatCannotFitNamesTheSizes()
    {
        var frame = new RingFrame { JobId = new string('j', 5000) };

        var error = Assert.Throws<ArgumentException>(() => RingFrameHead.Write(frame, 10, new byte[RingFrameHead.MaxBytes]));

        Assert.Contains("5000 chars", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{RingFrameHead.MaxBytes}-byte", error.Message, StringComparison.Ordinal);
    }
}
