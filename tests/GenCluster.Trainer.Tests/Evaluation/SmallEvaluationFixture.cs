using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Evaluation;

/// <summary>
/// Real MNIST in a temp data directory and options for a small, quickly trained classifier (two epochs on 6,000
/// images) with a 2,000-image floor, shared by the evaluation tests that need real data.
/// </summary>
public sealed class SmallEvaluationFixture : IAsyncLifetime
{
    private readonly TempDirectory _temp = RepoPaths.NewTemp();

    public string DataDirectory => Path.Combine(_temp.Path, "data");

    public string? SharedDatasetDirectory => RepoPaths.SharedMnist is { } mnist ? Path.GetDirectoryName(mnist) : null;

    public MnistSplits Data { get; private set; } = null!;

    public ClassifierTrainingOptions Classifier { get; } = new() { Epochs = 2, TrainLimit = 6000, Seed = 3 };

    public SampleEvaluatorOptions Evaluator => new()
    {
        DataDirectory = DataDirectory,
        SharedDatasetDirectory = SharedDatasetDirectory,
        Classifier = Classifier,
        FloorCount = 2000,
        KidSubsets = 4,
        KidSubsetSize = 500,
    };

    public async Task InitializeAsync() => Data = await MnistSplits.LoadAsync(DataDirectory, SharedDatasetDirectory);

    public Task DisposeAsync()
    {
        _temp.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class SmallEvaluationCollection : ICollectionFixture<SmallEvaluationFixture>
{
    public const string Name = "small evaluation";
}
