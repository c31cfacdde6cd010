using System.Globalization;
using System.Runtime.InteropServices;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Fuzz.Seeds;

/// <summary>What the ring seeds are made of: one round's stream headers and messages, encoded as the ring encodes them.</summary>
internal static class RingSeeds
{
    private const string JobId = "job-7f3a";
    private const long Round = 3;
    private const int SenderRank = 1;

    /// <summary>The headers <see cref="RingCollectives"/> opens its stream with.</summary>
    public static KeyValuePair<string, string>[] StreamHeaders =>
    [
        new(RingCollectives.JobHeader, JobId),
        new(RingCollectives.RoundHeader, Round.ToString(CultureInfo.InvariantCulture)),
        new(RingCollectives.RankHeader, SenderRank.ToString(CultureInfo.InvariantCulture)),
    ];

    /// <summary>A float32 all-reduce chunk.</summary>
    public static (byte[] Head, byte[] Payload) Fp32Chunk { get; } = Encode(
        new RingFrame { JobId = JobId, Round = Round, Sequence = 5, Bucket = 2, Chunk = 1, Step = 0, Offset = 0, Dtype = RingDtype.Fp32, SenderRank = SenderRank },
        MemoryMarshal.AsBytes<float>([1.5f, -2f, 0.25f, 3e-8f, 0f, -0f, 1e30f, 7f]).ToArray());

    /// <summary>A bfloat16 all-reduce chunk, later in the ring's steps.</summary>
    public static (byte[] Head, byte[] Payload) Bf16Chunk { get; } = Encode(
        new RingFrame { JobId = JobId, Round = Round, Sequence = 5, Bucket = 2, Chunk = 0, Step = 2, Offset = 4, Dtype = RingDtype.Bf16, SenderRank = SenderRank },
        MemoryMarshal.AsBytes<ushort>([0x3FC0, 0xC000, 0x3E80, 0x0000, 0x8000, 0x7149, 0x40E0, 0x3F80]).ToArray());

    /// <summary>The abort a failing rank sends on.</summary>
    public static (byte[] Head, byte[] Payload) Abort { get; } = Encode(
        new RingFrame
        {
            JobId = JobId, Round = Round, Sequence = 6, SenderRank = SenderRank, Abort = true, FailedRank = 2,
            Reason = "rank 2 (http://10.0.0.12:7001) did not send all-reduce #6 within 60 s",
        },
        []);

    /// <summary>Head and payload as one gRPC message.</summary>
    public static byte[] Message((byte[] Head, byte[] Payload) message) => [.. message.Head, .. message.Payload];

    /// <summary>The frames of an HTTP/2 byte stream, after the client preface when it starts with one; a cut last frame is left out.</summary>
    public static List<(Http2FrameHeader Header, byte[] Payload)> Frames(byte[] stream)
    {
        var frames = new List<(Http2FrameHeader, byte[])>();
        var position = stream.AsSpan().StartsWith(Http2FrameHeader.ClientPreface) ? Http2FrameHeader.ClientPreface.Length : 0;
        while (position + Http2FrameHeader.Size <= stream.Length)
        {
            var header = Http2FrameHeader.Read(stream.AsSpan(position));
            var start = position + Http2FrameHeader.Size;
            if (start + header.Length > stream.Length)
            {
                break;
            }

            frames.Add((header, stream[start..(start + header.Length)]));
            position = start + header.Length;
        }

        return frames;
    }

    private static (byte[] Head, byte[] Payload) Encode(RingFrame frame, byte[] payload)
    {
        var head = new byte[RingFrameHead.MaxBytes];
        return (head[..RingFrameHead.Write(frame, payload.Length, head)], payload);
    }
}
