using GenCluster.Trainer.Distributed;

namespace GenCluster.Fuzz.Seeds;

/// <summary>
/// Seeds of <c>ring-message</c>: ring messages as <see cref="RingFrameHead"/> writes them, a ClientHello as
/// <see cref="RingHandshake.Client"/> answers, and what a sender never writes: unknown fields of every wire type, a
/// cut message, an over-long varint, a group, a hello of another version.
/// </summary>
internal static class RingMessageSeeds
{
    public static IEnumerable<(string Name, byte[] Bytes)> Make()
    {
        var fp32 = RingSeeds.Message(RingSeeds.Fp32Chunk);
        var hello = new RingHandshake.Client("job-7f3a", 3, 1, "job-secret").Answer(new RingHandshake.Server().Hello.Span);
        yield return ("valid-fp32-chunk", fp32);
        yield return ("valid-bf16-chunk", RingSeeds.Message(RingSeeds.Bf16Chunk));
        yield return ("valid-abort", RingSeeds.Message(RingSeeds.Abort));
        yield return ("valid-client-hello", hello);
        byte[] unknown =
        [
            0xA1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, // field 20, fixed64
            0xAD, 0x01, 1, 2, 3, 4, // field 21, fixed32
            0xB0, 0x01, 0x96, 0x01, // field 22, varint 150
            0xBA, 0x01, 3, (byte)'a', (byte)'b', (byte)'c', // field 23, bytes
        ];
        yield return ("edge-unknown-fields", [.. unknown, .. fp32]);
        yield return ("edge-cut", fp32[..^3]);
        yield return ("edge-long-varint", [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        yield return ("edge-group", [0x0B, 0x0C]);
        yield return ("edge-hello-version-2", [.. hello[..7], 0x02, .. hello[8..]]);
    }
}
