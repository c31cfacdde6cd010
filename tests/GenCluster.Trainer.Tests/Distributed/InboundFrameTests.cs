using System.Buffers;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed;
using Google.Protobuf;

namespace GenCluster.Trainer.Tests.Distributed;

public class InboundFrameTests
{
    [Fact]
    public void ParsesEveryFieldTheGeneratedSerializerWrites()
    {
        var payload = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();
        var frame = new RingFrame
        {
            JobId = "job-ä", Round = 1L << 40, Sequence = 12345678901, Bucket = 3, Chunk = 4, Step = 5, Offset = 65536,
            Dtype = RingDtype.Bf16, Payload = ByteString.CopyFrom(payload), SenderRank = 7, Abort = true, FailedRank = -1, Reason = "gone",
        };
        var bytes = frame.ToByteArray();
        // Split the message across segments, as Kestrel's pipe does.
        var sequence = Segments(bytes, 1000);
        var pool = ArrayPool<byte>.Create();

        var parsed = InboundFrame.Parse(sequence, pool);

        Assert.Equal(("job-ä", 1L << 40, 12345678901L, 3, 4, 5, 65536), (parsed.JobId, parsed.Round, parsed.Sequence, parsed.Bucket, parsed.Chunk, parsed.Step, parsed.Offset));
        Assert.Equal((RingDtype.Bf16, 7, true, -1, "gone"), (parsed.Dtype, parsed.SenderRank, parsed.Abort, parsed.FailedRank, parsed.Reason));
        Assert.Equal(payload, parsed.Payload.ToArray());
        parsed.Release();
        Assert.Equal(0, parsed.Payload.Length);
    }

    [Fact]
    public void TruncatedFrameIsRefused()
    {
        var bytes = new RingFrame { JobId = "j", Payload = ByteString.CopyFrom(new byte[100]) }.ToByteArray();

        var error = Assert.Throws<Grpc.Core.RpcException>(() => InboundFrame.Parse(new ReadOnlySequence<byte>(bytes, 0, bytes.Length - 10), ArrayPool<byte>.Shared));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int size)
    {
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i < bytes.Length; i += size)
        {
            var memory = bytes.AsMemory(i, Math.Min(size, bytes.Length - i));
            if (last is null)
            {
                first = last = new Segment(memory, 0);
            }
            else
            {
                last = last.Append(memory);
            }
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
