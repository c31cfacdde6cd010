using GenCluster.Trainer.Data;
using GenCluster.Trainer.Tests.Support;
using SixLabors.ImageSharp.PixelFormats;

namespace GenCluster.Trainer.Tests.Data;

public class ImageFolderDatasetTests
{
    private const float Step = 1f / 127.5f;

    [Fact]
    public void ClassesFollowOrdinalFolderOrderAndSolidColoursKeepTheirExactValues()
    {
        using var temp = RepoPaths.NewTemp();
        var data = ImageFolderDataset.Load(TestImages.SolidFolder(temp.Path), size: 16, channels: 3);

        Assert.Equal((6, 3, 16, 16, 3), (data.Count, data.Channels, data.Height, data.Width, data.Classes));
        Assert.Equal(["a_red", "b_green", "c_blue"], data.ClassNames);
        int[] all = [0, 1, 2, 3, 4, 5];
        using var labels = data.Labels(all);
        Assert.Equal([0L, 1, 2, 0, 1, 2], labels.data<long>().ToArray());
        using var batch = data.Batch(all);
        for (var i = 0; i < 6; i++)
        {
            var label = i % 3;
            var jpeg = i >= 3;
            for (var c = 0; c < 3; c++)
            {
                using var plane = batch[i, c];
                var expected = c == label ? 1f : -1f;
                // PNG is lossless; the JPEG's colour conversion may move a solid colour by a few levels.
                var tolerance = jpeg ? 6 * Step : 1e-6f;
                Assert.All(plane.data<float>().ToArray(), v => Assert.InRange(v, expected - tolerance, expected + tolerance));
            }
        }
    }

    [Fact]
    public void WideImagesAreScaledToTheShorterSideAndCentreCropped()
    {
        using var temp = RepoPaths.NewTemp();
        // 64×32: red quarter, green half, blue quarter. Scaled to 32×16, the centre 16 columns are the green half.
        TestImages.Write(Path.Combine(temp.Path, "only", "wide.png"), 64, 32,
            (x, _) => x < 16 ? new Rgb24(255, 0, 0) : x < 48 ? new Rgb24(0, 255, 0) : new Rgb24(0, 0, 255));

        var data = ImageFolderDataset.Load(temp.Path, size: 16, channels: 3);

        using var batch = data.Batch([0]);
        var pixels = batch.data<float>().ToArray();
        for (var y = 0; y < 16; y++)
        {
            for (var x = 2; x < 14; x++)
            {
                Assert.Equal(-1f, pixels[0 * 256 + y * 16 + x], 3);
                Assert.Equal(1f, pixels[1 * 256 + y * 16 + x], 3);
                Assert.Equal(-1f, pixels[2 * 256 + y * 16 + x], 3);
            }
        }
    }

    [Fact]
    public void OneChannelIsBt709Grey()
    {
        using var temp = RepoPaths.NewTemp();
        TestImages.Solid(Path.Combine(temp.Path, "red", "r.png"), 8, 8, new Rgb24(255, 0, 0));
        TestImages.Solid(Path.Combine(temp.Path, "white", "w.png"), 8, 8, new Rgb24(255, 255, 255));

        var data = ImageFolderDataset.Load(temp.Path, size: 8, channels: 1);

        Assert.Equal(1, data.Channels);
        using var batch = data.Batch([0, 1]);
        var pixels = batch.data<float>().ToArray();
        Assert.Equal(54 / 127.5f - 1f, pixels[0], 5); // round(0.2126 × 255)
        Assert.Equal(1f, pixels[64], 5);
    }

    [Fact]
    public void ALimitTakesTheClassesInTurn()
    {
        using var temp = RepoPaths.NewTemp();
        var data = ImageFolderDataset.Load(TestImages.SolidFolder(temp.Path), size: 8, limit: 4);

        Assert.Equal(4, data.Count);
        Assert.Equal(3, data.Classes);
        using var labels = data.Labels([0, 1, 2, 3]);
        Assert.Equal([0L, 1, 2, 0], labels.data<long>().ToArray());
    }

    [Fact]
    public void HiddenFilesAreSkipped()
    {
        using var temp = RepoPaths.NewTemp();
        var folder = TestImages.SolidFolder(temp.Path);
        File.WriteAllText(Path.Combine(folder, "a_red", ".DS_Store"), "finder");

        Assert.Equal(6, ImageFolderDataset.Load(folder, size: 8).Count);
    }

    [Fact]
    public void ACorruptPngNamesTheFile()
    {
        using var temp = RepoPaths.NewTemp();
        var folder = TestImages.SolidFolder(temp.Path);
        var corrupt = Path.Combine(folder, "b_green", "3.png");
        File.WriteAllBytes(corrupt, Enumerable.Range(0, 200).Select(i => (byte)(i * 37 % 251)).ToArray());

        var ex = Assert.Throws<DatasetFormatException>(() => ImageFolderDataset.Load(folder, size: 8));

        Assert.Equal(corrupt, ex.FilePath);
        Assert.Contains("3.png", ex.Message);
        Assert.Contains("expected a decodable PNG or JPEG", ex.Message);
    }

    [Fact]
    public void AnEmptyClassFolderNamesTheFolder()
    {
        using var temp = RepoPaths.NewTemp();
        var folder = TestImages.SolidFolder(temp.Path);
        Directory.CreateDirectory(Path.Combine(folder, "d_empty"));

        var ex = Assert.Throws<DatasetFormatException>(() => ImageFolderDataset.Load(folder, size: 8));

        Assert.Contains("d_empty", ex.Message);
        Assert.Contains("empty", ex.Message);
    }

    [Fact]
    public void AFolderWithoutClassSubFoldersIsRefused()
    {
        using var temp = RepoPaths.NewTemp();
        var empty = Directory.CreateDirectory(Path.Combine(temp.Path, "flat")).FullName;

        var ex = Assert.Throws<DatasetFormatException>(() => ImageFolderDataset.Load(empty, size: 8));

        Assert.Contains("flat", ex.Message);
        Assert.Contains("expected one sub-folder per class", ex.Message);
    }

    [Fact]
    public void AnImageBesideTheClassFoldersIsRefused()
    {
        using var temp = RepoPaths.NewTemp();
        var folder = TestImages.SolidFolder(temp.Path);
        TestImages.Solid(Path.Combine(folder, "stray.png"), 8, 8, new Rgb24(1, 2, 3));

        var ex = Assert.Throws<DatasetFormatException>(() => ImageFolderDataset.Load(folder, size: 8));

        Assert.Contains("stray.png", ex.Message);
    }

    [Fact]
    public void AnUnsupportedFileTypeNamesTheFileAndTheTypes()
    {
        using var temp = RepoPaths.NewTemp();
        var folder = TestImages.SolidFolder(temp.Path);
        File.WriteAllText(Path.Combine(folder, "c_blue", "notes.txt"), "not an image");

        var ex = Assert.Throws<DatasetFormatException>(() => ImageFolderDataset.Load(folder, size: 8));

        Assert.Contains("notes.txt", ex.Message);
        Assert.Contains("'.txt', expected .png, .jpg or .jpeg", ex.Message);
    }

    [Fact]
    public void ATinyImageIsRefusedWithItsSize()
    {
        using var temp = RepoPaths.NewTemp();
        var folder = TestImages.SolidFolder(temp.Path);
        TestImages.Solid(Path.Combine(folder, "a_red", "tiny.png"), 4, 30, new Rgb24(255, 0, 0));

        var ex = Assert.Throws<DatasetFormatException>(() => ImageFolderDataset.Load(folder, size: 8));

        Assert.Contains("tiny.png", ex.Message);
        Assert.Contains("4×30, expected at least 8×8", ex.Message);
    }
}
