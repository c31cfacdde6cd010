using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Models;
using GenCluster.Trainer.Training;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Support;

/// <summary>Runs one session per rank on in-process collectives.</summary>
public static class SessionHarness
{
    public static JobSpec TinySpec(int batch, int checkpointEvery = 0, int sampleEvery = 0) => new()
    {
        PerWorkerBatch = batch,
        Seed = 7,
        CheckpointEvery = checkpointEvery,
        SampleEvery = sampleEvery,
        KeepCheckpoints = 5,
        ModelOptions = new ModelOptions { LatentDim = TinyGan.Latent, LearningRateD = 1e-3, LearningRateG = 1e-3 },
    };

    public static GanTrainingSession[] Create(
        int world, JobSpec spec, string runDirectory, ImageDataset data, Func<int, GanModels> models,
        InProcessGroup group, CheckpointRef? resumeFrom = null, TrainingEngineOptions? engine = null, int accumulation = 1)
    {
        return Enumerable.Range(0, world).Select(rank => new GanTrainingSession(new GanSessionSetup
        {
            Spec = spec,
            GradientAccumulation = accumulation,
            RunDirectory = runDirectory,
            Collectives = group.For(rank),
            Dataset = data,
            Models = models(rank),
            ResumeFrom = resumeFrom,
            Engine = engine ?? new TrainingEngineOptions { Threads = 1, SampleCount = 16 },
        })).ToArray();
    }

    public static async Task<SessionResult[]> RunAll(GanTrainingSession[] sessions, long target)
    {
        var runs = sessions.Select(s => s.RunAsync(target)).ToArray();
        return await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(2));
    }

    /// <summary>All parameters and buffers of G then D, flattened.</summary>
    public static float[] State(GanModels models)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = models.Generator.state_dict().Values.Concat(models.Discriminator.state_dict().Values)
            .Select(t => t.detach().to_type(torch.ScalarType.Float32).reshape(-1));
        return torch.cat(tensors.ToArray()).data<float>().ToArray();
    }

    public static void DisposeAll(IEnumerable<GanTrainingSession> sessions)
    {
        foreach (var s in sessions) s.Dispose();
    }
}
