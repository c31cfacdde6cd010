using System.Buffers.Binary;
using System.IO.Compression;
using GenCluster.Trainer.Data;

namespace GenCluster.Trainer.Tests.Support;

/// <summary>Writes small IDX files and image sets for tests that do not need MNIST.</summary>
public static class SyntheticIdx
{
    /// <summary>IDX bytes (unsigned byte type) with the given dimensions and data.</summary>
    public static byte[] Build(int[] dimensions, byte[] data)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + data.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)dimensions.Length;
        for (var i = 0; i < dimensions.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dimensions[i]);
        data.CopyTo(bytes, 4 + 4 * dimensions.Length);
        return bytes;
    }

    /// <summary>Writes an IDX file, gzipped when <paramref name="gzip"/>.</summary>
    public static void Write(string path, int[] dimensions, byte[] data, bool gzip = false)
    {
        var bytes = Build(dimensions, data);
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }
        using var file = File.Create(path);
        using var stream = new GZipStream(file, CompressionLevel.Fastest);
        stream.Write(bytes);
    }

    /// <summary>Deterministic blob-like images: each a bright square at a position that depends on its index.</summary>
    public static byte[] Images(int count, int height, int width)
    {
        var data = new byte[count * height * width];
        for (var n = 0; n < count; n++)
        {
            var top = n % Math.Max(1, height - 3);
            var left = n * 7 % Math.Max(1, width - 3);
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var inside = y >= top && y < top + 3 && x >= left && x < left + 3;
                data[(n * height + y) * width + x] = (byte)(inside ? 230 : (n * 13 + y * 5 + x * 3) % 40);
            }
        }
        return data;
    }

    /// <summary>An in-memory data set of <paramref name="count"/> synthetic images.</summary>
    public static ImageDataset Dataset(int count, int size = 8) => new(Images(count, size, size), count, size, size);
}
