using System.Buffers.Binary;
using System.Text;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Imaging;

public class NpyFileTests
{
    [Fact]
    public void ImagesAndLabelsRoundTrip()
    {
        using var temp = RepoPaths.NewTemp();
        var pixels = Enumerable.Range(0, 3 * 1 * 28 * 28).Select(i => (byte)(i * 7)).ToArray();
        var images = new ImageArray(pixels, 3, 1, 28, 28);
        var imagesPath = Path.Combine(temp.Path, "sub", "samples.npy");
        var labelsPath = Path.Combine(temp.Path, "labels.npy");

        NpyFile.WriteImages(imagesPath, images);
        NpyFile.WriteLabels(labelsPath, [3, -1, long.MaxValue]);

        var read = NpyFile.ReadImages(imagesPath);
        Assert.Equal((3, 1, 28, 28), (read.Count, read.Channels, read.Height, read.Width));
        Assert.Equal(pixels, read.Pixels);
        Assert.Equal([3L, -1L, long.MaxValue], NpyFile.ReadLabels(labelsPath));
        Assert.Equal(128 + pixels.Length, new FileInfo(imagesPath).Length);
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void AHeaderAsNumpyWritesItIsReadAndWrittenByteForByte()
    {
        // numpy.save of np.zeros((2, 1, 28, 28), np.uint8): magic, version 1.0, uint16 header length, the dict,
        // spaces, '\n', the whole header a multiple of 64 bytes.
        const string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 28, 28), }";
        var text = dict.PadRight(128 - 10 - 1) + "\n";
        var expected = new List<byte> { 0x93 };
        expected.AddRange(Encoding.ASCII.GetBytes("NUMPY"));
        expected.AddRange([1, 0, (byte)text.Length, (byte)(text.Length >> 8)]);
        expected.AddRange(Encoding.ASCII.GetBytes(text));
        Assert.Equal(128, expected.Count);

        Assert.Equal(expected, NpyFile.Header(NpyFile.UInt8Descr, [2, 1, 28, 28]));

        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "numpy.npy");
        var data = Enumerable.Range(0, 2 * 28 * 28).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(path, [.. expected, .. data]);
        var images = NpyFile.ReadImages(path);
        Assert.Equal("(2, 1, 28, 28)", images.ShapeText);
        Assert.Equal(data, images.Pixels);
    }

    [Fact]
    public void LabelHeaderUsesTheOneElementTupleAndLittleEndianInt64()
    {
        var header = Encoding.Latin1.GetString(NpyFile.Header(NpyFile.Int64Descr, [10]));
        Assert.StartsWith("\u0093NUMPY\u0001\u0000", header, StringComparison.Ordinal);
        Assert.Contains("{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }", header, StringComparison.Ordinal);
        Assert.Equal(0, header.Length % 64);
        Assert.EndsWith(" \n", header, StringComparison.Ordinal);
    }

    [Fact]
    public void KeysInAnotherOrderAndExtraSpacesAreAccepted()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "reordered.npy");
        File.WriteAllBytes(path, [.. Npy("{'shape': (2,),  'fortran_order': False, 'descr': '<i8'}"), .. Int64s(5, 6)]);
        Assert.Equal([5L, 6L], NpyFile.ReadLabels(path));
    }

    [Fact]
    public void ATruncatedFileIsRefusedNamingTheFileAndTheSizes()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "short.npy");
        NpyFile.WriteImages(path, new ImageArray(new byte[2 * 784], 2, 1, 28, 28));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);

        var ex = Assert.Throws<InvalidDataException>(() => NpyFile.ReadImages(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("data is 1558 bytes, expected 1568", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void AWrongDtypeIsRefusedNamingTheFileAndBothDtypes()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "float.npy");
        File.WriteAllBytes(path, [.. Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1), }"), 0, 0, 0, 0]);

        var ex = Assert.Throws<InvalidDataException>(() => NpyFile.ReadImages(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("'descr' is '<f4', expected '|u1'", ex.Message);
    }

    [Fact]
    public void FortranOrderIsRefused()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "fortran.npy");
        File.WriteAllBytes(path, [.. Npy("{'descr': '<i8', 'fortran_order': True, 'shape': (2,), }"), .. Int64s(1, 2)]);

        var ex = Assert.Throws<InvalidDataException>(() => NpyFile.ReadLabels(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("'fortran_order' is True, expected False", ex.Message);
    }

    [Fact]
    public void BadMagicVersionAndShapeAreRefusedNamingTheFile()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "bad.npy");

        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("PK\u0003\u0004 not an npy file"));
        Assert.Contains($"{path}: magic is", Assert.Throws<InvalidDataException>(() => NpyFile.ReadImages(path)).Message);

        var header = Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 1, 1), }");
        header[6] = 4;
        File.WriteAllBytes(path, [.. header, 0]);
        Assert.Contains($"{path}: version is 4.0, expected 1.0", Assert.Throws<InvalidDataException>(() => NpyFile.ReadImages(path)).Message);

        File.WriteAllBytes(path, [.. Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 28, 28), }"), .. new byte[2 * 784]]);
        Assert.Contains($"{path}: 'shape' is (2, 28, 28), expected 4 dimensions", Assert.Throws<InvalidDataException>(() => NpyFile.ReadImages(path)).Message);

        var missing = Path.Combine(temp.Path, "missing.npy");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => NpyFile.ReadLabels(missing)).Message);
    }

    private static byte[] Npy(string dict)
    {
        var text = dict.PadRight((dict.Length + 11 + 63) / 64 * 64 - 11) + "\n";
        var header = new byte[10 + text.Length];
        header[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY", header.AsSpan(1));
        header[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)text.Length);
        Encoding.ASCII.GetBytes(text, header.AsSpan(10));
        return header;
    }

    private static byte[] Int64s(params long[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }
}
