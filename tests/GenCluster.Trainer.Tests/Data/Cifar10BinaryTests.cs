using GenCluster.Trainer.Data;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Data;

public class Cifar10BinaryTests
{
    private static float Scaled(int value) => value / 127.5f - 1f;

    [Fact]
    public void ASingleFileLoadsLabelsAndPlanarRgb()
    {
        using var temp = RepoPaths.NewTemp();
        var file = Path.Combine(temp.Path, "small.bin");
        File.WriteAllBytes(file, TestImages.CifarRecords(3, 9, 0));

        var data = Cifar10Binary.Load(file);

        Assert.Equal((3, 3, 32, 32, 10), (data.Count, data.Channels, data.Height, data.Width, data.Classes));
        Assert.Equal(Cifar10Binary.DefaultClassNames, data.ClassNames);
        using var labels = data.Labels([0, 1, 2]);
        Assert.Equal([3L, 9, 0], labels.data<long>().ToArray());
        using var batch = data.Batch([1]);
        var pixels = batch.data<float>().ToArray();
        Assert.Equal(Scaled(1 + 0), pixels[0], 5);           // red, row 0 col 0 of image 1
        Assert.Equal(Scaled((1 + 33) % 256), pixels[33], 5); // red, row 1 col 1
        Assert.Equal(Scaled(100), pixels[1024 + 5], 5);       // green
        Assert.Equal(Scaled(200), pixels[2048 + 1023], 5);    // blue, last pixel
    }

    [Fact]
    public void ADirectoryReadsTheTrainingBatchesInOrderAndNotTheTestBatch()
    {
        using var temp = RepoPaths.NewTemp();
        File.WriteAllBytes(Path.Combine(temp.Path, "data_batch_2.bin"), TestImages.CifarRecords(7));
        File.WriteAllBytes(Path.Combine(temp.Path, "data_batch_1.bin"), TestImages.CifarRecords(1, 2));
        File.WriteAllBytes(Path.Combine(temp.Path, "test_batch.bin"), TestImages.CifarRecords(5, 5, 5, 5));
        File.WriteAllLines(Path.Combine(temp.Path, Cifar10Binary.MetaFile), ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", ""]);

        var data = Cifar10Binary.Load(temp.Path);

        Assert.Equal(3, data.Count);
        using var labels = data.Labels([0, 1, 2]);
        Assert.Equal([1L, 2, 7], labels.data<long>().ToArray());
        Assert.Equal(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], data.ClassNames);
    }

    [Fact]
    public void ALimitKeepsTheFirstRecordsAcrossBatches()
    {
        using var temp = RepoPaths.NewTemp();
        File.WriteAllBytes(Path.Combine(temp.Path, "data_batch_1.bin"), TestImages.CifarRecords(1, 2));
        File.WriteAllBytes(Path.Combine(temp.Path, "data_batch_2.bin"), TestImages.CifarRecords(7, 8));

        var data = Cifar10Binary.Load(temp.Path, limit: 3);

        using var labels = data.Labels([0, 1, 2]);
        Assert.Equal([1L, 2, 7], labels.data<long>().ToArray());
    }

    [Fact]
    public void OneChannelIsBt709Grey()
    {
        using var temp = RepoPaths.NewTemp();
        var file = Path.Combine(temp.Path, "one.bin");
        File.WriteAllBytes(file, TestImages.CifarRecords(4));

        var data = Cifar10Binary.Load(file, channels: 1);

        Assert.Equal(1, data.Channels);
        using var batch = data.Batch([0]);
        var expected = Luminance.FromRgb(10, 100, 200);
        Assert.Equal(Scaled(expected), batch.data<float>()[10], 5);
        Assert.Equal(88, expected); // 0.2126·10 + 0.7152·100 + 0.0722·200 = 88.09
    }

    [Fact]
    public void ATruncatedFileNamesTheFileAndTheRecordSize()
    {
        using var temp = RepoPaths.NewTemp();
        var file = Path.Combine(temp.Path, "data_batch_1.bin");
        File.WriteAllBytes(file, TestImages.CifarRecords(1, 2)[..5000]);

        var ex = Assert.Throws<DatasetFormatException>(() => Cifar10Binary.Load(temp.Path));

        Assert.Equal(file, ex.FilePath);
        Assert.Contains("data_batch_1.bin", ex.Message);
        Assert.Contains("length is 5000 bytes, expected a positive multiple of 3073", ex.Message);
    }

    [Fact]
    public void ALabelOverNineNamesTheFileAndTheRecord()
    {
        using var temp = RepoPaths.NewTemp();
        var file = Path.Combine(temp.Path, "bad.bin");
        File.WriteAllBytes(file, TestImages.CifarRecords(1, 12));

        var ex = Assert.Throws<DatasetFormatException>(() => Cifar10Binary.Load(file));

        Assert.Contains("bad.bin", ex.Message);
        Assert.Contains("record 1 (byte offset 3073) has label 12, expected 0..9", ex.Message);
    }

    [Fact]
    public void AMetaFileWithTheWrongNumberOfNamesIsRefused()
    {
        using var temp = RepoPaths.NewTemp();
        var file = Path.Combine(temp.Path, "one.bin");
        File.WriteAllBytes(file, TestImages.CifarRecords(4));
        File.WriteAllLines(Path.Combine(temp.Path, Cifar10Binary.MetaFile), ["cat", "dog"]);

        var ex = Assert.Throws<DatasetFormatException>(() => Cifar10Binary.Load(file));

        Assert.Contains("batches.meta.txt", ex.Message);
        Assert.Contains("has 2 class names, expected 10", ex.Message);
    }
}
