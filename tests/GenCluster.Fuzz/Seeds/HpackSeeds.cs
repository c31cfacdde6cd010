using System.Text;
using GenCluster.Fuzz.Targets;
using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Fuzz.Seeds;

/// <summary>
/// Seeds of <c>hpack</c>: the header blocks of real ring calls (the client's request; the server's response headers,
/// trailers and a refusal's trailers-only answer), and blocks using what those do not: the dynamic table (added
/// entries, references to them from a later block, eviction, size updates), Huffman, an index out of range.
/// </summary>
internal static class HpackSeeds
{
    public static IEnumerable<(string Name, byte[] Bytes)> Make(RingRecordings recordings)
    {
        yield return ("valid-request", HpackTarget.Frame(HeaderBlocks(recordings.Stream.FromClient)));
        yield return ("valid-response", HpackTarget.Frame(HeaderBlocks(recordings.Stream.FromServer)));
        yield return ("valid-refusal", HpackTarget.Frame(HeaderBlocks(recordings.OtherMethod.FromServer)));
        yield return ("valid-dynamic-table", HpackTarget.Frame(DynamicTable()));
        yield return ("valid-eviction", HpackTarget.Frame([Eviction()]));
        yield return ("edge-huffman", HpackTarget.Frame([[0x00, 0x81, 0xFF, 0x01, (byte)'x']]));
        yield return ("edge-index-out-of-range", HpackTarget.Frame([Indexed(62)]));
        yield return ("edge-size-update-too-large", HpackTarget.Frame([Block(b => Hpack.WriteInteger(b, 8192, 5, 0x20))]));
    }

    /// <summary>The header blocks of an HTTP/2 byte stream, HEADERS and CONTINUATION joined.</summary>
    public static IEnumerable<byte[]> HeaderBlocks(byte[] stream)
    {
        var block = new List<byte>();
        foreach (var (header, payload) in RingSeeds.Frames(stream))
        {
            if (header.Type == Http2FrameType.Headers)
            {
                block = [.. Http2Frames.HeaderBlockFragment(header, payload)];
            }
            else if (header.Type == Http2FrameType.Continuation)
            {
                block.AddRange(payload);
            }
            else
            {
                continue;
            }

            if (header.Has(Http2Flags.EndHeaders))
            {
                yield return block.ToArray();
            }
        }
    }

    /// <summary>A field added with incremental indexing, found by its dynamic index in the next block, then a size update to zero that evicts it.</summary>
    private static IEnumerable<byte[]> DynamicTable()
    {
        yield return Block(b =>
        {
            Hpack.WriteIndexed(b, Hpack.MethodPost);
            IncrementallyIndexed(b, "gencluster-job", "job-7f3a");
            IncrementallyIndexed(b, "gencluster-round", "3");
        });
        yield return Block(b =>
        {
            Hpack.WriteIndexed(b, 62);
            Hpack.WriteIndexed(b, 63);
            Hpack.WriteInteger(b, 0, 5, 0x20);
            Hpack.WriteInteger(b, 4096, 5, 0x20);
            Hpack.WriteIndexed(b, Hpack.Status200);
        });
    }

    /// <summary>More indexed fields than the 4096-byte table holds.</summary>
    private static byte[] Eviction() => Block(b =>
    {
        for (var i = 0; i < 40; i++)
        {
            IncrementallyIndexed(b, $"x-pad-{i:D2}", new string('v', 100));
        }
    });

    private static byte[] Indexed(int index) => Block(b => Hpack.WriteIndexed(b, index));

    private static byte[] Block(Action<List<byte>> write)
    {
        var block = new List<byte>();
        write(block);
        return block.ToArray();
    }

    /// <summary>A literal with incremental indexing and a new name (RFC 7541 section 6.2.1), which the ring's encoder never writes.</summary>
    private static void IncrementallyIndexed(List<byte> block, string name, string value)
    {
        Hpack.WriteInteger(block, 0, 6, 0x40);
        foreach (var text in new[] { name, value })
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            Hpack.WriteInteger(block, bytes.Length, 7, 0x00);
            block.AddRange(bytes);
        }
    }
}
