using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace GenCluster.Trainer.Imaging;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format version 1.0, little-endian, C order) for the two arrays the
/// trainer exchanges with other tools: uint8 images N × C × H × W (<c>'|u1'</c>) and int64 labels N (<c>'&lt;i8'</c>).
/// </summary>
/// <remarks>
/// Layout: <c>\x93NUMPY</c>, major and minor version bytes, a little-endian header length (uint16 in 1.0, uint32 in
/// 2.0 and 3.0), then a Python dict literal padded with spaces and ended by <c>\n</c> so the data starts at a multiple of
/// 64 bytes. Files are written exactly as NumPy 2 writes them (including its spare spaces for growing the first axis)
/// and read strictly: magic, version, dtype, order, shape and the data length are all checked.
/// </remarks>
public static partial class NpyFile
{
    /// <summary>The dtype string of unsigned bytes.</summary>
    public const string UInt8Descr = "|u1";

    /// <summary>The dtype string of little-endian signed 64-bit integers.</summary>
    public const string Int64Descr = "<i8";

    private const int Alignment = 64;
    private const int GrowthAxisMaxDigits = 21;
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Writes <paramref name="images"/> as a uint8 array of shape (N, C, H, W) to <paramref name="path"/>, via a temp file and rename.</summary>
    public static void WriteImages(string path, ImageArray images)
    {
        if ((long)images.Count * images.ImageBytes != images.Pixels.Length)
            throw new ArgumentException(
                $"pixels has {images.Pixels.Length} bytes, expected {images.ShapeText} = {(long)images.Count * images.ImageBytes}", nameof(images));
        WriteFile(path, UInt8Descr, [images.Count, images.Channels, images.Height, images.Width], images.Pixels);
    }

    /// <summary>Writes <paramref name="labels"/> as an int64 array of shape (N,) to <paramref name="path"/>, via a temp file and rename.</summary>
    public static void WriteLabels(string path, ReadOnlySpan<long> labels)
    {
        var data = new byte[labels.Length * sizeof(long)];
        for (var i = 0; i < labels.Length; i++)
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i * sizeof(long)), labels[i]);
        WriteFile(path, Int64Descr, [labels.Length], data);
    }

    /// <summary>Reads a uint8 array of shape (N, C, H, W).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not such an array; the message names the file, the field, and what was expected and found.</exception>
    public static ImageArray ReadImages(string path)
    {
        var (shape, data) = Read(path, UInt8Descr, "uint8 images");
        if (shape.Length != 4)
            throw new InvalidDataException($"{path}: 'shape' is {ShapeText(shape)}, expected 4 dimensions (N, C, H, W)");
        foreach (var size in shape)
            if (size > int.MaxValue)
                throw new InvalidDataException($"{path}: 'shape' {ShapeText(shape)} has a dimension larger than {int.MaxValue}");
        return new ImageArray(data, (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]);
    }

    /// <summary>Reads an int64 array of shape (N,).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not such an array; the message names the file, the field, and what was expected and found.</exception>
    public static long[] ReadLabels(string path)
    {
        var (shape, data) = Read(path, Int64Descr, "int64 labels");
        if (shape.Length != 1)
            throw new InvalidDataException($"{path}: 'shape' is {ShapeText(shape)}, expected 1 dimension (N,)");
        var labels = new long[shape[0]];
        for (var i = 0; i < labels.Length; i++)
            labels[i] = BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(i * sizeof(long)));
        return labels;
    }

    /// <summary>The header NumPy 2 writes for <paramref name="descr"/> and <paramref name="shape"/> (C order): preamble, dict, padding and newline.</summary>
    public static byte[] Header(string descr, ReadOnlySpan<long> shape)
    {
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {ShapeText(shape)}, }}";
        if (shape.Length > 0)
            dict += new string(' ', Math.Max(0, GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length));
        // NumPy pads so that preamble + dict + padding + '\n' is a multiple of 64, always adding at least one space.
        var preamble = Magic.Length + 2 + 2;
        var padding = Alignment - (preamble + dict.Length + 1) % Alignment;
        var text = dict + new string(' ', padding) + "\n";
        if (text.Length > ushort.MaxValue)
            throw new ArgumentException($"npy header of {text.Length} bytes does not fit format version 1.0", nameof(shape));
        var header = new byte[preamble + text.Length];
        Magic.CopyTo(header);
        header[6] = 1;
        header[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)text.Length);
        Encoding.ASCII.GetBytes(text, header.AsSpan(preamble));
        return header;
    }

    private static void WriteFile(string path, string descr, long[] shape, byte[] data)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                file.Write(Header(descr, shape));
                file.Write(data);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static (long[] Shape, byte[] Data) Read(string path, string descr, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: npy file not found (expected {what})", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException(
                $"{path}: magic is {Convert.ToHexString(bytes.AsSpan(0, Math.Min(6, bytes.Length)))}, expected 934E554D5059 (\\x93NUMPY): not an npy file");
        var (major, minor) = (bytes[6], bytes[7]);
        int lengthBytes = major switch { 1 => 2, 2 or 3 => 4, _ => 0 };
        if (lengthBytes == 0 || minor != 0)
            throw new InvalidDataException($"{path}: version is {major}.{minor}, expected 1.0 (or 2.0, 3.0)");
        var preamble = 8 + lengthBytes;
        if (bytes.Length < preamble)
            throw new InvalidDataException($"{path}: header length needs {preamble} bytes, the file has {bytes.Length}");
        long headerLength = lengthBytes == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8))
            : BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        if (preamble + headerLength > bytes.Length)
            throw new InvalidDataException($"{path}: header length is {headerLength} bytes, the file has only {bytes.Length - preamble} after the preamble (truncated)");
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes, preamble, (int)headerLength);
        if (!header.EndsWith('\n'))
            throw new InvalidDataException($"{path}: header does not end with a newline: {Quote(header)}");

        var dict = header.Trim();
        if (!dict.StartsWith('{') || !dict.EndsWith('}'))
            throw new InvalidDataException($"{path}: header is {Quote(dict)}, expected a dict literal {{...}}");
        var foundDescr = DescrField().Match(dict) is { Success: true } d
            ? d.Groups[1].Value
            : throw new InvalidDataException($"{path}: header has no 'descr' string: {Quote(dict)}");
        if (foundDescr != descr)
            throw new InvalidDataException($"{path}: 'descr' is '{foundDescr}', expected '{descr}' ({what})");
        var order = FortranOrderField().Match(dict) is { Success: true } f
            ? f.Groups[1].Value
            : throw new InvalidDataException($"{path}: header has no 'fortran_order' True/False: {Quote(dict)}");
        if (order != "False")
            throw new InvalidDataException($"{path}: 'fortran_order' is {order}, expected False (C order)");
        var shapeMatch = ShapeField().Match(dict);
        if (!shapeMatch.Success)
            throw new InvalidDataException($"{path}: header has no 'shape' tuple: {Quote(dict)}");
        var shape = ParseShape(path, shapeMatch.Groups[1].Value);

        var itemSize = descr == Int64Descr ? sizeof(long) : 1;
        var expected = shape.Aggregate(1L, (product, size) => product * size) * itemSize;
        var actual = bytes.LongLength - preamble - headerLength;
        if (actual != expected)
            throw new InvalidDataException(
                $"{path}: data is {actual} bytes, expected {expected} for 'shape' {ShapeText(shape)} of '{descr}'" +
                (actual < expected ? " (truncated)" : " (trailing bytes)"));
        return (shape, bytes.AsSpan((int)(preamble + headerLength)).ToArray());
    }

    private static long[] ParseShape(string path, string tuple)
    {
        var parts = tuple.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > 1 && parts[^1].Length == 0) parts = parts[..^1];
        if (parts.Length == 1 && parts[0].Length == 0) return [];
        var shape = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
                throw new InvalidDataException($"{path}: 'shape' ({tuple}) has '{parts[i]}' at position {i}, expected a non-negative integer");
        }
        return shape;
    }

    private static string ShapeText(ReadOnlySpan<long> shape) => shape.Length switch
    {
        0 => "()",
        1 => $"({shape[0]},)",
        _ => $"({string.Join(", ", shape.ToArray())})",
    };

    private static string Quote(string text) => text.Length <= 120 ? $"\"{text}\"" : $"\"{text[..120]}...\"";

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrField();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranOrderField();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeField();
}
