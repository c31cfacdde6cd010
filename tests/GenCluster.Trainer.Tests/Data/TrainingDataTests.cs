using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Tests.Data;

/// <summary>Which loader a <c>JobSpec.Dataset</c> path reaches, and the spec fields it honours.</summary>
public class TrainingDataTests
{
    private static Task<ImageDataset> Load(JobSpec spec) => TrainingData.LoadAsync(spec, new TrainingEngineOptions());

    [Fact]
    public async Task ADirectoryOfClassFoldersIsAnImageFolderAtTheSpecsSizeAndChannels()
    {
        using var temp = RepoPaths.NewTemp();
        var folder = TestImages.SolidFolder(temp.Path);

        var rgb = await Load(new JobSpec { Dataset = folder });
        var grey = await Load(new JobSpec { Dataset = folder, ImageSize = 12, Channels = 1, DatasetLimit = 2 });

        Assert.Equal((6, 3, 32, 32, 3), (rgb.Count, rgb.Channels, rgb.Height, rgb.Width, rgb.Classes));
        Assert.Equal((2, 1, 12, 12), (grey.Count, grey.Channels, grey.Height, grey.Width));
    }

    [Fact]
    public async Task ABinFileOrADirectoryOfTrainingBatchesIsCifar10()
    {
        using var temp = RepoPaths.NewTemp();
        var file = Path.Combine(temp.Path, "data_batch_1.bin");
        File.WriteAllBytes(file, TestImages.CifarRecords(1, 2, 3));

        var fromFile = await Load(new JobSpec { Dataset = file, DatasetLimit = 2 });
        var fromDirectory = await Load(new JobSpec { Dataset = temp.Path, Channels = 1 });

        Assert.Equal((2, 3, 32, 10), (fromFile.Count, fromFile.Channels, fromFile.Height, fromFile.Classes));
        Assert.Equal((3, 1), (fromDirectory.Count, fromDirectory.Channels));
    }

    [Fact]
    public async Task Cifar10RefusesAnotherSizeNamingTheField()
    {
        using var temp = RepoPaths.NewTemp();
        var file = Path.Combine(temp.Path, "data.bin");
        File.WriteAllBytes(file, TestImages.CifarRecords(1));

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Load(new JobSpec { Dataset = file, ImageSize = 64 }));

        Assert.Contains("JobSpec.ImageSize is 64, but CIFAR-10 images are 32×32", ex.Message);
    }

    [Fact]
    public async Task MnistRefusesColourNamingTheFieldBeforeFetching()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Load(new JobSpec { Channels = 3 }));

        Assert.Contains("JobSpec.Channels is 3, but MNIST images have 1", ex.Message);
    }

    [Fact]
    public async Task AMissingPathNamesTheFieldAndThePath()
    {
        using var temp = RepoPaths.NewTemp();
        var missing = Path.Combine(temp.Path, "nowhere");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Load(new JobSpec { Dataset = missing }));

        Assert.Contains($"JobSpec.Dataset '{missing}'", ex.Message);
        Assert.Contains("found no file or directory", ex.Message);
    }

    [Fact]
    public async Task AFileThatIsNotABinBatchIsRefused()
    {
        using var temp = RepoPaths.NewTemp();
        var file = TestImages.Solid(Path.Combine(temp.Path, "one.png"), 8, 8, new SixLabors.ImageSharp.PixelFormats.Rgb24(1, 2, 3));

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Load(new JobSpec { Dataset = file }));

        Assert.Contains("found a file that is not a CIFAR-10 .bin batch", ex.Message);
    }
}
