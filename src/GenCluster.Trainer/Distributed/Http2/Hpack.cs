using System.Text;

namespace GenCluster.Trainer.Distributed.Http2;

/// <summary>
/// The slice of HPACK (RFC 7541) the ring's gRPC client needs: it encodes request headers as literals (no
/// indexing, no Huffman) and decodes response headers and trailers with the static table and a dynamic table.
/// Huffman-coded strings, which the servers the ring talks to do not send, are rejected with a clear error.
/// </summary>
internal static class Hpack
{
    private static readonly (string Name, string Value)[] StaticTable =
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
        ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
        ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
        ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
        ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
        ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];

    /// <summary>Static-table index of <c>:method: POST</c>.</summary>
    public const int MethodPost = 3;

    /// <summary>Static-table index of <c>:status: 200</c>.</summary>
    public const int Status200 = 8;

    /// <summary>Static-table index of <c>:scheme: http</c>.</summary>
    public const int SchemeHttp = 6;

    /// <summary>Static-table index of the name <c>:authority</c>.</summary>
    public const int AuthorityName = 1;

    /// <summary>Static-table index of the name <c>:path</c>.</summary>
    public const int PathName = 4;

    /// <summary>Static-table index of the name <c>content-type</c>.</summary>
    public const int ContentTypeName = 31;

    /// <summary>An indexed header field (a static or dynamic table entry).</summary>
    public static void WriteIndexed(List<byte> block, int index) => WriteInteger(block, index, 7, 0x80);

    /// <summary>A literal field without indexing whose name comes from the static table.</summary>
    public static void WriteLiteral(List<byte> block, int nameIndex, string value)
    {
        WriteInteger(block, nameIndex, 4, 0x00);
        WriteString(block, value);
    }

    /// <summary>A literal field without indexing with a literal (lower-case) name.</summary>
    public static void WriteLiteral(List<byte> block, string name, string value)
    {
        block.Add(0x00);
        WriteString(block, name);
        WriteString(block, value);
    }

    private static void WriteString(List<byte> block, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        WriteInteger(block, bytes.Length, 7, 0x00);
        block.AddRange(bytes);
    }

    /// <summary>RFC 7541 section 5.1 integer with an <paramref name="prefixBits"/>-bit prefix.</summary>
    public static void WriteInteger(List<byte> block, int value, int prefixBits, byte pattern)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.Add((byte)(pattern | value));
            return;
        }

        block.Add((byte)(pattern | max));
        value -= max;
        while (value >= 0x80)
        {
            block.Add((byte)((value & 0x7F) | 0x80));
            value >>= 7;
        }

        block.Add((byte)value);
    }

    /// <summary>Decodes header blocks of one connection (the dynamic table lives as long as the decoder).</summary>
    public sealed class Decoder(int advertisedTableSize)
    {
        private readonly List<(string Name, string Value)> _dynamic = [];
        private int _tableSize;
        private readonly int _advertised = advertisedTableSize;
        private int _maxTableSize = advertisedTableSize;

        /// <summary>Decodes one complete header block.</summary>
        /// <exception cref="InvalidDataException">The block is malformed or uses Huffman coding.</exception>
        public List<(string Name, string Value)> Decode(ReadOnlySpan<byte> block)
        {
            var fields = new List<(string, string)>();
            var position = 0;
            while (position < block.Length)
            {
                var first = block[position];
                if ((first & 0x80) != 0)
                {
                    fields.Add(Entry(ReadInteger(block, ref position, 7)));
                }
                else if ((first & 0xC0) == 0x40)
                {
                    var field = ReadLiteral(block, ref position, 6);
                    fields.Add(field);
                    Add(field);
                }
                else if ((first & 0xE0) == 0x20)
                {
                    var size = ReadInteger(block, ref position, 5);
                    if (size > _advertised)
                    {
                        throw new InvalidDataException($"HPACK: dynamic table size update to {size} exceeds the advertised {_advertised}.");
                    }

                    _maxTableSize = size;
                    Evict(0);
                }
                else
                {
                    fields.Add(ReadLiteral(block, ref position, 4));
                }
            }

            return fields;
        }

        private (string Name, string Value) ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits)
        {
            var nameIndex = ReadInteger(block, ref position, prefixBits);
            var name = nameIndex == 0 ? ReadString(block, ref position) : Entry(nameIndex).Name;
            return (name, ReadString(block, ref position));
        }

        private (string Name, string Value) Entry(int index)
        {
            if (index >= 1 && index <= StaticTable.Length)
            {
                return StaticTable[index - 1];
            }

            var dynamicIndex = index - StaticTable.Length - 1;
            if (dynamicIndex >= 0 && dynamicIndex < _dynamic.Count)
            {
                return _dynamic[dynamicIndex];
            }

            throw new InvalidDataException($"HPACK: header table index {index} is out of range (static 1..{StaticTable.Length}, dynamic {_dynamic.Count}).");
        }

        private void Add((string Name, string Value) field)
        {
            var size = field.Name.Length + field.Value.Length + 32;
            Evict(size);
            if (size <= _maxTableSize)
            {
                _dynamic.Insert(0, field);
                _tableSize += size;
            }
        }

        private void Evict(int room)
        {
            while (_dynamic.Count > 0 && _tableSize + room > _maxTableSize)
            {
                var last = _dynamic[^1];
                _dynamic.RemoveAt(_dynamic.Count - 1);
                _tableSize -= last.Name.Length + last.Value.Length + 32;
            }
        }

        private static string ReadString(ReadOnlySpan<byte> block, ref int position)
        {
            if (position >= block.Length)
            {
                throw new InvalidDataException("HPACK: header block ends inside a string.");
            }

            var huffman = (block[position] & 0x80) != 0;
            var length = ReadInteger(block, ref position, 7);
            if (huffman)
            {
                throw new InvalidDataException("HPACK: Huffman-coded header strings are not supported by the ring client.");
            }

            if (length > block.Length - position)
            {
                throw new InvalidDataException($"HPACK: string of {length} bytes overruns the header block.");
            }

            var value = Encoding.Latin1.GetString(block.Slice(position, length));
            position += length;
            return value;
        }

        private static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
        {
            var max = (1 << prefixBits) - 1;
            var value = block[position++] & max;
            if (value < max)
            {
                return value;
            }

            var shift = 0;
            while (true)
            {
                if (position >= block.Length || shift > 21)
                {
                    throw new InvalidDataException("HPACK: truncated or oversized integer.");
                }

                var next = block[position++];
                value += (next & 0x7F) << shift;
                shift += 7;
                if ((next & 0x80) == 0)
                {
                    return value;
                }
            }
        }
    }
}
