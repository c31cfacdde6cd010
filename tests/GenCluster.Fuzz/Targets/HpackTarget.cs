using System.Buffers.Binary;
using System.Text;
using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Fuzz.Targets;

/// <summary>
/// <c>hpack</c>: header blocks through one <see cref="Hpack.Decoder"/> (the 4096-byte dynamic table both ring ends
/// use), so entries one block adds are looked up by the next. The input is a sequence of blocks, each after its
/// 2-byte big-endian length (<see cref="Frame"/>); a length that runs past the end takes what is left. Decoding stops
/// at the first <see cref="InvalidDataException"/>, the decoder's documented error, as the connection does.
/// </summary>
/// <remarks>
/// Every block that decodes and holds only ASCII is written back with <see cref="Hpack"/>'s encoder (literals, as the
/// ring client sends its headers) and must decode to the same fields, or the target throws
/// <see cref="FuzzInvariantException"/>.
/// </remarks>
internal sealed class HpackTarget : IFuzzTarget
{
    public const string Name = "hpack";

    private const int TableSize = 4096;

    public FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        var decoder = new Hpack.Decoder(TableSize);
        while (input.Length > 0)
        {
            var length = input.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(input) : 0;
            input = input[Math.Min(2, input.Length)..];
            var block = input[..Math.Min(length, input.Length)];
            input = input[block.Length..];
            List<(string Name, string Value)> fields;
            try
            {
                fields = decoder.Decode(block);
            }
            catch (InvalidDataException)
            {
                return FuzzOutcome.Rejected;
            }

            CheckRoundTrip(fields);
        }

        return FuzzOutcome.Accepted;
    }

    /// <summary>Header blocks as this target reads them: each after its 2-byte big-endian length.</summary>
    public static byte[] Frame(IEnumerable<byte[]> blocks)
    {
        var framed = new List<byte>();
        foreach (var block in blocks)
        {
            framed.Add((byte)(block.Length >> 8));
            framed.Add((byte)block.Length);
            framed.AddRange(block);
        }

        return framed.ToArray();
    }

    private static void CheckRoundTrip(List<(string Name, string Value)> fields)
    {
        if (fields.Any(f => !Ascii.IsValid(f.Name) || !Ascii.IsValid(f.Value)))
        {
            return;
        }

        var block = new List<byte>();
        foreach (var (name, value) in fields)
        {
            Hpack.WriteLiteral(block, name, value);
        }

        var again = new Hpack.Decoder(TableSize).Decode(block.ToArray());
        if (!again.SequenceEqual(fields))
        {
            throw new FuzzInvariantException(
                $"HPACK: {fields.Count} decoded fields written back as literals decode to {again.Count} different ones: " +
                string.Join(", ", fields.Zip(again).Where(p => p.First != p.Second).Take(3).Select(p => $"{p.First} became {p.Second}")));
        }
    }
}
