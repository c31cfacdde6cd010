using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Tests.Support;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Imaging;

public class PngWriterTests
{
    private sealed record Chunk(string Type, byte[] Data, uint Crc);

    private static List<Chunk> ReadChunks(byte[] png)
    {
        Assert.True(png.AsSpan(0, 8).SequenceEqual(PngWriter.Signature), "PNG signature");
        var chunks = new List<Chunk>();
        var at = 8;
        while (at < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length).ToArray();
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            chunks.Add(new Chunk(type, data, crc));
            at += 12 + length;
        }
        return chunks;
    }

    [Fact]
    public void WritesAValidGreyscalePng()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "samples", "step-000001.png");
        var pixels = Enumerable.Range(0, 7 * 5).Select(i => (byte)(i * 7)).ToArray();

        PngWriter.WriteGrayscale(path, 7, 5, pixels);

        var chunks = ReadChunks(File.ReadAllBytes(path));
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        foreach (var chunk in chunks)
        {
            var crc = new Crc32();
            crc.Append(System.Text.Encoding.ASCII.GetBytes(chunk.Type));
            crc.Append(chunk.Data);
            Assert.Equal(crc.GetCurrentHashAsUInt32(), chunk.Crc);
        }
        var ihdr = chunks[0].Data;
        Assert.Equal(7, BinaryPrimitives.ReadInt32BigEndian(ihdr));
        Assert.Equal(5, BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)));
        Assert.Equal([8, 0, 0, 0, 0], ihdr[8..]);

        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress))
            zlib.CopyTo(inflated);
        var raw = inflated.ToArray();
        Assert.Equal(5 * 8, raw.Length);
        for (var y = 0; y < 5; y++)
        {
            Assert.Equal(0, raw[y * 8]);
            Assert.Equal(pixels.AsSpan(y * 7, 7).ToArray(), raw.AsSpan(y * 8 + 1, 7).ToArray());
        }
    }

    [Fact]
    public void SampleGridTilesImagesWithBorders()
    {
        using var scope = torch.NewDisposeScope();
        var images = torch.stack([torch.full(1, 3, 2, -1f), torch.full(1, 3, 2, 1f), torch.full(1, 3, 2, 0f)]);

        var (width, height, _, pixels) = SampleGrid.Render(images, columns: 2);

        Assert.Equal(2 * (2 + 2) + 2, width);
        Assert.Equal(2 * (3 + 2) + 2, height);
        Assert.Equal(0, pixels[2 * width + 2]);
        Assert.Equal(255, pixels[2 * width + 2 + 4]);
        Assert.Equal(128, pixels[(2 + 5) * width + 2]);
    }
}
