using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Data;

/// <summary>Loads the training images a job spec names.</summary>
public static class TrainingData
{
    /// <summary>
    /// Loads <c>spec.Dataset</c> keeping <c>spec.DatasetLimit</c> images: <c>mnist</c> (located, fetched and verified
    /// when needed), or a path whose content says its format: a <c>.bin</c> file or a directory holding
    /// <c>data_batch_*.bin</c> is CIFAR-10 binary, any other directory an image folder (one sub-folder per class).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown data set, or a size/channel count the format cannot give; the message names the <c>JobSpec</c> field.</exception>
    /// <exception cref="DatasetFormatException">The data is not in its format's shape; the message names the file or folder.</exception>
    public static async Task<ImageDataset> LoadAsync(JobSpec spec, TrainingEngineOptions engine, CancellationToken cancellationToken = default)
    {
        if (spec.Dataset == JobSpec.Mnist)
        {
            Fixed(spec, "MNIST", size: 28, channels: 1);
            var locator = new MnistLocator(new MnistLocatorOptions
            {
                DataDirectory = Path.Combine(engine.DataDirectory, "mnist"),
                SharedDirectory = engine.SharedDatasetDirectory is { } shared ? Path.Combine(shared, "mnist") : null,
            });
            var files = await locator.EnsureAsync(MnistLocator.TrainingFiles, cancellationToken);
            return ImageDataset.FromIdx(files[MnistFiles.TrainImages], spec.DatasetLimit, files[MnistFiles.TrainLabels], classes: 10);
        }

        var path = spec.Dataset;
        var channels = spec.Channels == 0 ? 3 : spec.Channels;
        if (IsCifar(path))
        {
            Fixed(spec, "CIFAR-10", size: Cifar10Binary.Side, channels: null);
            return await Task.Run(() => Cifar10Binary.Load(path, channels, spec.DatasetLimit, cancellationToken), cancellationToken);
        }
        if (Directory.Exists(path))
        {
            var size = spec.ImageSize == 0 ? ImageFolderDataset.DefaultSize : spec.ImageSize;
            return await Task.Run(() => ImageFolderDataset.Load(path, size, channels, spec.DatasetLimit, cancellationToken: cancellationToken), cancellationToken);
        }
        var found = File.Exists(path) ? "a file that is not a CIFAR-10 .bin batch" : "no file or directory";
        throw new ArgumentException(
            $"JobSpec.Dataset '{path}' is not supported; expected 'mnist', an image folder (one sub-folder per class) or CIFAR-10 binary batches " +
            $"(a .bin file or a directory with data_batch_*.bin), found {found} at {Path.GetFullPath(path)}", nameof(spec));
    }

    private static bool IsCifar(string path) =>
        File.Exists(path) ? Path.GetExtension(path).Equals(".bin", StringComparison.OrdinalIgnoreCase)
            : Directory.Exists(path) && Cifar10Binary.TrainingBatches(path).Count > 0;

    private static void Fixed(JobSpec spec, string format, int size, int? channels)
    {
        if (spec.ImageSize != 0 && spec.ImageSize != size)
            throw new ArgumentException($"JobSpec.ImageSize is {spec.ImageSize}, but {format} images are {size}×{size}; expected 0 or {size}", nameof(spec));
        if (channels is { } c && spec.Channels != 0 && spec.Channels != c)
            throw new ArgumentException($"JobSpec.Channels is {spec.Channels}, but {format} images have {c}; expected 0 or {c}", nameof(spec));
    }
}
