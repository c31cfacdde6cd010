using System.Buffers.Binary;
using System.IO.Compression;

namespace GenCluster.Trainer.Data;

/// <summary>The contents of one IDX file (LeCun's format for MNIST): its dimensions and raw unsigned bytes.</summary>
/// <param name="Path">File it was read from, for error messages.</param>
/// <param name="Dimensions">Sizes, outermost first (e.g. 60000, 28, 28).</param>
/// <param name="Data">Row-major values.</param>
public sealed record IdxData(string Path, int[] Dimensions, byte[] Data)
{
    /// <summary>Number of items along the first dimension.</summary>
    public int Count => Dimensions[0];
}

/// <summary>Reads IDX files, raw or gzipped (detected by the gzip magic bytes, not the name).</summary>
/// <remarks>
/// Layout: two zero bytes, a type byte (only 0x08 = unsigned byte is used by MNIST and accepted here), a dimension
/// count, then one big-endian int32 per dimension and the data. The data length must match the product of the
/// dimensions exactly: a truncated or padded file is rejected rather than silently read short.
/// </remarks>
public static class IdxReader
{
    private const byte UnsignedByteType = 0x08;

    /// <summary>Reads and validates <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed unsigned-byte IDX file; the message names it.</exception>
    public static IdxData Read(string path)
    {
        var bytes = LoadDecompressed(path);
        if (bytes.Length < 4)
            throw new InvalidDataException($"{path}: IDX header needs at least 4 bytes, the file has {bytes.Length}");
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new InvalidDataException(
                $"{path}: not an IDX file: magic number starts 0x{bytes[0]:X2}{bytes[1]:X2}, expected 0x0000 (0x0000{UnsignedByteType:X2}NN)");
        if (bytes[2] != UnsignedByteType)
            throw new InvalidDataException($"{path}: IDX data type 0x{bytes[2]:X2} is not supported, expected 0x{UnsignedByteType:X2} (unsigned byte)");
        int rank = bytes[3];
        if (rank is < 1 or > 4)
            throw new InvalidDataException($"{path}: IDX dimension count {rank} is out of range, expected 1 to 4");
        var headerLength = 4 + 4 * rank;
        if (bytes.Length < headerLength)
            throw new InvalidDataException($"{path}: IDX header with {rank} dimensions needs {headerLength} bytes, the file has {bytes.Length}");

        var dims = new int[rank];
        long expected = 1;
        for (var i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i, 4));
            if (dims[i] <= 0)
                throw new InvalidDataException($"{path}: IDX dimension {i} is {dims[i]}, expected a positive size");
            expected *= dims[i];
        }
        var actual = bytes.Length - headerLength;
        if (actual != expected)
            throw new InvalidDataException(
                $"{path}: IDX dimensions [{string.Join(", ", dims)}] need {expected} data bytes, the file has {actual}" +
                (actual < expected ? " (truncated)" : " (trailing bytes)"));
        return new IdxData(path, dims, bytes.AsSpan(headerLength).ToArray());
    }

    private static byte[] LoadDecompressed(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: IDX file not found", path);
        var raw = File.ReadAllBytes(path);
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream();
            gzip.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{path}: gzip stream is corrupt or truncated: {ex.Message}", ex);
        }
    }
}
