using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Data;

/// <summary>Loads the training images a job spec names.</summary>
public static class TrainingData
{
    /// <summary>Locates (fetching and verifying when needed) and loads <c>spec.Dataset</c>, keeping <c>spec.DatasetLimit</c> images.</summary>
    /// <exception cref="ArgumentException">Unknown data set; the message names <c>JobSpec.Dataset</c>.</exception>
    public static async Task<ImageDataset> LoadAsync(JobSpec spec, TrainingEngineOptions engine, CancellationToken cancellationToken = default)
    {
        switch (spec.Dataset)
        {
            case "mnist":
                var locator = new MnistLocator(new MnistLocatorOptions
                {
                    DataDirectory = Path.Combine(engine.DataDirectory, "mnist"),
                    SharedDirectory = engine.SharedDatasetDirectory is { } shared ? Path.Combine(shared, "mnist") : null,
                });
                var files = await locator.EnsureAsync(MnistLocator.TrainingFiles, cancellationToken);
                return ImageDataset.FromIdx(files[MnistFiles.TrainImages], spec.DatasetLimit, files[MnistFiles.TrainLabels], classes: 10);
            default:
                throw new ArgumentException($"JobSpec.Dataset '{spec.Dataset}' is not supported; expected 'mnist'", nameof(spec));
        }
    }
}
