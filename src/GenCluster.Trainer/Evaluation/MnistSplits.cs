using GenCluster.Trainer.Data;
using GenCluster.Trainer.Imaging;

namespace GenCluster.Trainer.Evaluation;

/// <summary>MNIST's training (60,000) and test (10,000) images as N × 1 × 28 × 28 bytes, with their labels.</summary>
/// <param name="TrainImages">The training split.</param>
/// <param name="TrainLabels">Digit of each training image.</param>
/// <param name="TestImages">The test split.</param>
/// <param name="TestLabels">Digit of each test image.</param>
public sealed record MnistSplits(ImageArray TrainImages, long[] TrainLabels, ImageArray TestImages, long[] TestLabels)
{
    /// <summary>
    /// Locates (copying from the shared copy or fetching, and verifying by SHA-256) and loads the four MNIST files under
    /// <c><paramref name="dataDirectory"/>/mnist</c>.
    /// </summary>
    /// <param name="dataDirectory">The trainer's data directory (<c>Trainer:DataDirectory</c>).</param>
    /// <param name="sharedDatasetDirectory">Local copy of the data sets (<c>&lt;dir&gt;/mnist</c> is used); null = the default beside the repository.</param>
    /// <param name="cancellationToken">Cancels a fetch.</param>
    public static async Task<MnistSplits> LoadAsync(string dataDirectory, string? sharedDatasetDirectory = null, CancellationToken cancellationToken = default)
    {
        var locator = new MnistLocator(new MnistLocatorOptions
        {
            DataDirectory = Path.Combine(dataDirectory, "mnist"),
            SharedDirectory = sharedDatasetDirectory is { } shared ? Path.Combine(shared, "mnist") : null,
        });
        var files = await locator.EnsureAsync(
            [MnistFiles.TrainImages, MnistFiles.TrainLabels, MnistFiles.TestImages, MnistFiles.TestLabels], cancellationToken);
        return new MnistSplits(
            Images(files[MnistFiles.TrainImages]), Labels(files[MnistFiles.TrainLabels]),
            Images(files[MnistFiles.TestImages]), Labels(files[MnistFiles.TestLabels]));
    }

    private static ImageArray Images(string path)
    {
        var idx = IdxReader.Read(path);
        if (idx.Dimensions is not [_, 28, 28])
            throw new InvalidDataException($"{path}: MNIST images must be N × 28 × 28, the file has [{string.Join(", ", idx.Dimensions)}]");
        return new ImageArray(idx.Data, idx.Count, 1, 28, 28);
    }

    private static long[] Labels(string path)
    {
        var idx = IdxReader.Read(path);
        if (idx.Dimensions.Length != 1)
            throw new InvalidDataException($"{path}: MNIST labels must be one-dimensional, the file has [{string.Join(", ", idx.Dimensions)}]");
        return idx.Data.Select(b => (long)b).ToArray();
    }
}
