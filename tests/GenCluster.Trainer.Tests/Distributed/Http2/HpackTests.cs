using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Trainer.Tests.Distributed.Http2;

public class HpackTests
{
    [Fact]
    public void RequestHeadersRoundTrip()
    {
        var block = new List<byte>();
        Hpack.WriteIndexed(block, Hpack.MethodPost);
        Hpack.WriteIndexed(block, Hpack.SchemeHttp);
        Hpack.WriteLiteral(block, Hpack.PathName, "/gencluster.ring.RingService/Stream");
        Hpack.WriteLiteral(block, Hpack.ContentTypeName, "application/grpc");
        Hpack.WriteLiteral(block, "gencluster-secret", new string('s', 300));

        var fields = new Hpack.Decoder(4096).Decode(block.ToArray());

        Assert.Equal(
            [(":method", "POST"), (":scheme", "http"), (":path", "/gencluster.ring.RingService/Stream"),
             ("content-type", "application/grpc"), ("gencluster-secret", new string('s', 300))],
            fields);
    }

    [Fact]
    public void IncrementallyIndexedFieldsAreFoundInTheDynamicTableOfLaterBlocks()
    {
        var decoder = new Hpack.Decoder(4096);
        // Literal with incremental indexing, new name: grpc-status: 0; then the same field as dynamic index 62.
        byte[] first = [0x40, 11, .. "grpc-status"u8, 1, (byte)'0'];
        byte[] second = [0x80 | 62, 0x88];

        Assert.Equal([("grpc-status", "0")], decoder.Decode(first));
        Assert.Equal([("grpc-status", "0"), (":status", "200")], decoder.Decode(second));
    }

    [Fact]
    public void TableSizeUpdateToZeroEvictsEverything()
    {
        var decoder = new Hpack.Decoder(4096);
        decoder.Decode([0x40, 1, (byte)'a', 1, (byte)'b']);

        var error = Assert.Throws<InvalidDataException>(() => decoder.Decode([0x20, 0x80 | 62]));

        Assert.Contains("index 62", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedBlocksFailClearly()
    {
        var decoder = new Hpack.Decoder(4096);
        Assert.Contains("Huffman", Assert.Throws<InvalidDataException>(() => decoder.Decode([0x00, 0x81, 0xFF, 0x01, (byte)'x'])).Message, StringComparison.Ordinal);
        Assert.Contains("overruns", Assert.Throws<InvalidDataException>(() => decoder.Decode([0x00, 5, (byte)'a'])).Message, StringComparison.Ordinal);
        Assert.Contains("exceeds the advertised 4096", Assert.Throws<InvalidDataException>(() => decoder.Decode([0x3F, 0xE2, 0x3F])).Message, StringComparison.Ordinal);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => decoder.Decode([0xFF, 0xFF])).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(30, 5)]
    [InlineData(31, 5)]
    [InlineData(1337, 5)]
    [InlineData(1_000_000, 7)]
    public void IntegersUseTheirPrefixAndContinuationBytes(int value, int prefixBits)
    {
        var block = new List<byte>();
        Hpack.WriteInteger(block, value, prefixBits, 0x00);

        // Decode it as the length of a literal name (7-bit prefix) only when it is one; else check RFC 7541 C.1.
        if (value == 1337 && prefixBits == 5)
        {
            Assert.Equal(new byte[] { 31, 154, 10 }, block.ToArray());
        }

        var decoded = block[0] & ((1 << prefixBits) - 1);
        if (decoded == (1 << prefixBits) - 1)
        {
            var shift = 0;
            for (var i = 1; i < block.Count; i++)
            {
                decoded += (block[i] & 0x7F) << shift;
                shift += 7;
            }
        }

        Assert.Equal(value, decoded);
    }
}
