using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Training;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Worker;

/// <summary>Loads a job's training images once per process (fetching and verifying MNIST when missing) and keeps them across rounds.</summary>
public sealed class DatasetCache(IOptions<TrainingEngineOptions> engine)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Key, ImageDataset Dataset)? _loaded;

    /// <summary>The images for <paramref name="spec"/>'s data set and limit.</summary>
    public async Task<ImageDataset> GetAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        if (!string.Equals(spec.Dataset, "mnist", StringComparison.Ordinal))
            throw new ArgumentException($"JobSpec.Dataset: unknown data set '{spec.Dataset}' (known: mnist)", nameof(spec));
        var key = $"{spec.Dataset}:{spec.DatasetLimit}";
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_loaded is { } hit && hit.Key == key) return hit.Dataset;
            var options = engine.Value;
            var locator = new MnistLocator(new MnistLocatorOptions
            {
                DataDirectory = Path.Combine(options.DataDirectory, "mnist"),
                SharedDirectory = options.SharedDatasetDirectory,
            });
            var files = await locator.EnsureAsync(MnistLocator.TrainingFiles, cancellationToken);
            var dataset = ImageDataset.FromIdx(files[MnistFiles.TrainImages], spec.DatasetLimit);
            _loaded = (key, dataset);
            return dataset;
        }
        finally
        {
            _gate.Release();
        }
    }
}
