using GenCluster.Trainer.Data;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Data;

public class IdxReaderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsRawAndGzippedFiles(bool gzip)
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "images");
        var data = SyntheticIdx.Images(5, 4, 3);
        SyntheticIdx.Write(path, [5, 4, 3], data, gzip);

        var idx = IdxReader.Read(path);

        Assert.Equal([5, 4, 3], idx.Dimensions);
        Assert.Equal(5, idx.Count);
        Assert.Equal(data, idx.Data);
    }

    [Fact]
    public void TruncatedFileIsRejectedWithSizes()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "train-images-idx3-ubyte");
        var bytes = SyntheticIdx.Build([10, 2, 2], new byte[40]);
        File.WriteAllBytes(path, bytes[..^7]);

        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Contains(path, ex.Message);
        Assert.Contains("need 40 data bytes, the file has 33", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void TruncatedGzipIsRejected()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "labels.gz");
        SyntheticIdx.Write(path, [1000], SyntheticIdx.Images(10, 10, 10), gzip: true);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var ex = Assert.ThrowsAny<Exception>(() => IdxReader.Read(path));

        Assert.IsType<InvalidDataException>(ex, exactMatch: false);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void WrongMagicIsRejected()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "not-idx");
        var bytes = SyntheticIdx.Build([2, 2], new byte[4]);
        bytes[0] = 0x50;
        bytes[1] = 0x4B;
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Contains(path, ex.Message);
        Assert.Contains("magic number starts 0x504B, expected 0x0000", ex.Message);
    }

    [Fact]
    public void UnsupportedDataTypeIsRejected()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "floats");
        var bytes = SyntheticIdx.Build([1], new byte[1]);
        bytes[2] = 0x0D;
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Contains("data type 0x0D is not supported, expected 0x08", ex.Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "padded");
        File.WriteAllBytes(path, [.. SyntheticIdx.Build([3], new byte[3]), 0]);

        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path));

        Assert.Contains("need 3 data bytes, the file has 4 (trailing bytes)", ex.Message);
    }
}
