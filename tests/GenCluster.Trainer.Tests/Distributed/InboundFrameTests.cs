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
        var pool = ArrayPool<byte>.Create();
        var (buffer, length) = Rented(bytes, pool);

        var parsed = InboundFrame.ParseOwned(buffer, length, pool);

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

        var (buffer, _) = Rented(bytes, ArrayPool<byte>.Shared);

        var error = Assert.Throws<Grpc.Core.RpcException>(() => InboundFrame.ParseOwned(buffer, bytes.Length - 10, ArrayPool<byte>.Shared));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public void ALengthBeyondAnIntIsRefusedNamingTheClaim()
    {
        // Fuzzing regression (corpus/ring-message/crash-f401a620501c): field 1182, length-delimited, claiming about
        // 2^48 bytes; the narrowing of the length threw OverflowException.
        byte[] bytes = [0xF2, 0x49, 0xA8, 0xAF, 0xAF, 0xAF, 0xAF, 0xE0, 0x40];
        var (buffer, length) = Rented(bytes, ArrayPool<byte>.Shared);

        var error = Assert.Throws<Grpc.Core.RpcException>(() => InboundFrame.ParseOwned(buffer, length, ArrayPool<byte>.Shared));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("field 1182 claims", error.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>The message as the ring port hands it over: in a buffer rented from the pool, maybe larger than it.</summary>
    private static (byte[] Buffer, int Length) Rented(byte[] bytes, ArrayPool<byte> pool)
    {
        var buffer = pool.Rent(bytes.Length + 17);
        bytes.CopyTo(buffer, 0);
        return (buffer, bytes.Length);
    }
}
