using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace GenCluster.Trainer.Imaging;

/// <summary>Writes 8-bit greyscale or RGB PNG files (signature, IHDR, one zlib IDAT, IEND; filter type 0 on every row).</summary>
public static class PngWriter
{
    /// <summary>The 8-byte PNG signature.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Writes a <paramref name="width"/>×<paramref name="height"/> greyscale image (row-major pixels) to <paramref name="path"/>, via a temp file and rename.</summary>
    public static void WriteGrayscale(string path, int width, int height, ReadOnlySpan<byte> pixels) => WriteFile(path, width, height, 1, pixels);

    /// <summary>Writes the greyscale PNG to <paramref name="output"/>.</summary>
    public static void WriteGrayscale(Stream output, int width, int height, ReadOnlySpan<byte> pixels) => Write(output, width, height, 1, pixels);

    /// <summary>Writes an RGB image (3 bytes per pixel, row-major) to <paramref name="path"/>, via a temp file and rename.</summary>
    public static void WriteRgb(string path, int width, int height, ReadOnlySpan<byte> pixels) => WriteFile(path, width, height, 3, pixels);

    private static void WriteFile(string path, int width, int height, int channels, ReadOnlySpan<byte> pixels)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
            Write(file, width, height, channels, pixels);
        File.Move(temp, path, overwrite: true);
    }

    private static void Write(Stream output, int width, int height, int channels, ReadOnlySpan<byte> pixels)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"image size {width}x{height} must be positive");
        var rowBytes = width * channels;
        if (pixels.Length != rowBytes * height)
            throw new ArgumentException($"pixels has {pixels.Length} bytes, expected {width}x{height}x{channels} = {rowBytes * height}", nameof(pixels));

        output.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;  // bit depth
        header[9] = (byte)(channels == 3 ? 2 : 0); // colour type: truecolour or greyscale
        header[10] = 0; // compression: deflate
        header[11] = 0; // filter method
        header[12] = 0; // no interlace
        WriteChunk(output, "IHDR", header);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (var y = 0; y < height; y++)
            {
                zlib.WriteByte(0);
                zlib.Write(pixels.Slice(y * rowBytes, rowBytes));
            }
        }
        WriteChunk(output, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND", []);
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, data.Length);
        output.Write(buffer);
        Span<byte> typeBytes = [(byte)type[0], (byte)type[1], (byte)type[2], (byte)type[3]];
        output.Write(typeBytes);
        output.Write(data);
        var crc = new Crc32();
        crc.Append(typeBytes);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(buffer, crc.GetCurrentHashAsUInt32());
        output.Write(buffer);
    }
}
