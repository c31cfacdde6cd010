using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Training;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Worker;

/// <summary>Keeps a job's training images loaded across rounds, so a re-formed round does not read the data set again.</summary>
public sealed class DatasetCache(IOptions<TrainingEngineOptions> engine)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Key, ImageDataset Dataset)? _loaded;

    /// <summary>The images for <paramref name="spec"/>'s data set, limit, size and channels.</summary>
    public async Task<ImageDataset> GetAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        var key = $"{spec.Dataset}:{spec.DatasetLimit}:{spec.ImageSize}:{spec.Channels}";
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_loaded is { } hit && hit.Key == key) return hit.Dataset;
            var dataset = await TrainingData.LoadAsync(spec, engine.Value, cancellationToken);
            _loaded = (key, dataset);
            return dataset;
        }
        finally
        {
            _gate.Release();
        }
    }
}
