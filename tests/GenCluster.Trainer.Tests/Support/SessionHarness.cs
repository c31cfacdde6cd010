using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using GenCluster.Trainer.Training;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Support;

/// <summary>Runs one session per rank on in-process collectives.</summary>
public static class SessionHarness
{
    public static JobSpec TinySpec(int batch, int checkpointEvery = 0, int sampleEvery = 0, ModelOptions? model = null) => new()
    {
        PerWorkerBatch = batch,
        Seed = 7,
        CheckpointEvery = checkpointEvery,
        SampleEvery = sampleEvery,
        KeepCheckpoints = 5,
        Model = model ?? new DcganOptions { LatentDim = TinyGan.Latent, LearningRateD = 1e-3, LearningRateG = 1e-3, EmaDecay = 0.9 },
    };

    /// <summary>Sessions training tiny networks with the GAN recipe of the spec's kind.</summary>
    public static TrainingSession[] Create(
        int world, JobSpec spec, string runDirectory, ImageDataset data, Func<int, GanNetworks> networks,
        InProcessGroup group, CheckpointRef? resumeFrom = null, TrainingEngineOptions? engine = null, int accumulation = 1,
        bool overlap = false, long bucketBytes = 8192) =>
        CreateWith(world, spec, runDirectory, data,
            rank => TinyGan.Recipe((GanOptions)spec.Model, networks(rank), world, rank, spec.ShardOptimizer, overlap, bucketBytes), group, resumeFrom, engine, accumulation);

    /// <summary>Sessions training the given recipes.</summary>
    public static TrainingSession[] CreateWith(
        int world, JobSpec spec, string runDirectory, ImageDataset data, Func<int, ITrainingRecipe> recipes,
        InProcessGroup group, CheckpointRef? resumeFrom = null, TrainingEngineOptions? engine = null, int accumulation = 1)
    {
        return Enumerable.Range(0, world).Select(rank => new TrainingSession(new SessionSetup
        {
            Spec = spec,
            GradientAccumulation = accumulation,
            RunDirectory = runDirectory,
            Collectives = group.For(rank),
            Dataset = data,
            Recipe = recipes(rank),
            ResumeFrom = resumeFrom,
            Engine = engine ?? new TrainingEngineOptions { Threads = 1, SampleCount = 16 },
        })).ToArray();
    }

    public static async Task<SessionResult[]> RunAll(TrainingSession[] sessions, long target)
    {
        var runs = sessions.Select(s => s.RunAsync(target)).ToArray();
        return await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(2));
    }

    /// <summary>All parameters and buffers of every network of the recipe, flattened.</summary>
    public static float[] State(ITrainingRecipe recipe)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = recipe.Networks.SelectMany(n => n.Module.state_dict().Values)
            .Select(t => t.detach().to_type(torch.ScalarType.Float32).reshape(-1));
        return torch.cat(tensors.ToArray()).data<float>().ToArray();
    }

    /// <summary>The recipe's D, as a tiny one (to poison it).</summary>
    public static TinyDiscriminator TinyD(TrainingSession session) => (TinyDiscriminator)((GanRecipe)session.Recipe).Discriminator;

    public static void DisposeAll(IEnumerable<TrainingSession> sessions)
    {
        foreach (var s in sessions) s.Dispose();
    }
}
