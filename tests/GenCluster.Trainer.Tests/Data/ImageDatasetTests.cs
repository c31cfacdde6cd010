using GenCluster.Trainer.Data;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Data;

public class ImageDatasetTests
{
    [Fact]
    public void BatchesAreScaledToMinusOneToOneInTheRequestedOrder()
    {
        var pixels = new byte[] { 0, 255, 51, 204, 255, 255, 0, 0 };
        var data = new ImageDataset(pixels, count: 2, height: 2, width: 2);

        using var batch = data.Batch([1, 0]);

        Assert.Equal([2L, 1, 2, 2], batch.shape);
        var values = batch.data<float>().ToArray();
        Assert.Equal([1f, 1f, -1f, -1f], values[..4]);
        Assert.Equal(-1f, values[4]);
        Assert.Equal(1f, values[5]);
        Assert.Equal(51 / 127.5f - 1f, values[6], 6);
    }

    [Fact]
    public void FromIdxKeepsTheFirstImagesUpToTheLimit()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "images.gz");
        var images = SyntheticIdx.Images(10, 5, 4);
        SyntheticIdx.Write(path, [10, 5, 4], images, gzip: true);

        var limited = ImageDataset.FromIdx(path, limit: 3);
        var all = ImageDataset.FromIdx(path);

        Assert.Equal((3, 5, 4), (limited.Count, limited.Height, limited.Width));
        Assert.Equal(10, all.Count);
        using var a = limited.Batch([2]);
        using var b = all.Batch([2]);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }

    [Fact]
    public void LabelFilesAreNotImages()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, "labels");
        SyntheticIdx.Write(path, [4], [1, 2, 3, 4]);

        var ex = Assert.Throws<InvalidDataException>(() => ImageDataset.FromIdx(path));
        Assert.Contains("must have 3 dimensions", ex.Message);
    }
}
