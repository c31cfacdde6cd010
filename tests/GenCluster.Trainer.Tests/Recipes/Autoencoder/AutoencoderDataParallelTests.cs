using GenCluster.Contracts.Models;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Autoencoder;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Recipes.Autoencoder;

/// <summary>
/// Data parallelism of the autoencoder recipes: n workers × B follow 1 worker × n·B (the VAE; VQ-VAE with its EMA
/// codebook, whose statistics are summed over the round before the update), and every rank holds the identical
/// codebook after many steps with dead-code restarts.
/// </summary>
public class AutoencoderDataParallelTests
{
    private const int GlobalBatch = 12;

    internal static readonly VaeOptions Vae = new() { Width = 4, LatentDim = 4, LearningRate = 1e-3 };

    internal static readonly VqVaeOptions VqVae = new()
    {
        Width = 8, ResidualWidth = 4, ResidualBlocks = 1, CodebookSize = 8, CodeDim = 4, LearningRate = 1e-3, CodebookDecay = 0.9, DeadCodeThreshold = 0,
    };

    internal static ImageDataset Data(int size = 8) =>
        new(SyntheticIdx.Images(240, size, size), 240, size, size, 1, Enumerable.Range(0, 240).Select(i => i % 10).ToArray(), 10);

    /// <remarks><paramref name="overlap"/> all-reduces during backward, every parameter in its own bucket.</remarks>
    internal static ITrainingRecipe Recipe(ModelOptions options, long seed, int world, int size = 8, bool overlap = false) =>
        RecipeRegistry.Create(options, new RecipeSetup
        {
            Seed = seed, Height = size, Width = size, Classes = 10, BucketBytes = overlap ? 1 : 4096, WorldSize = world, OverlapBackward = overlap,
        });

    /// <summary>Trains <paramref name="steps"/> steps on <paramref name="world"/> ranks; returns every rank's final recipe state and the start.</summary>
    internal static async Task<(List<float[]> States, float[] Start)> Train(ModelOptions options, int world, int steps, int accumulation = 1, int size = 8, Action<StepProgress>? onStep = null)
    {
        var (states, start, _) = await TrainCounting(options, world, steps, accumulation, size, onStep);
        return (states, start);
    }

    private static async Task<(List<float[]> States, float[] Start, (long EarlyLaunches, long Redos) Overlap)> TrainCounting(
        ModelOptions options, int world, int steps, int accumulation = 1, int size = 8, Action<StepProgress>? onStep = null, bool overlap = false)
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(world);
        var spec = SessionHarness.TinySpec(GlobalBatch / world / accumulation, model: options) with { Steps = steps };
        float[] start;
        using (var initial = Recipe(options, 11, 1, size)) start = SessionHarness.State(initial);
        // Each rank builds other weights: the round-start broadcast must make them rank 0's.
        var sessions = SessionHarness.CreateWith(world, spec, temp.Path, Data(size), rank => Recipe(options, 11 + 100 * rank, world, size, overlap), group, accumulation: accumulation);
        if (onStep is not null) sessions[0].StepCompleted += onStep;
        try
        {
            var results = await SessionHarness.RunAll(sessions, steps);
            Assert.All(results, r => Assert.Equal(0, r.SkippedSteps));
            var counts = sessions.Select(s => s.Recipe.OverlapCounts).ToList();
            return (sessions.Select(s => SessionHarness.State(s.Recipe)).ToList(), start, (counts.Sum(c => c.EarlyLaunches), counts.Sum(c => c.Redos)));
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Theory]
    [InlineData("vae", 2, 1)]
    [InlineData("vae", 3, 1)]
    [InlineData("vae", 2, 2)]
    [InlineData("vqvae", 2, 1)]
    [InlineData("vqvae", 3, 1)]
    [InlineData("vqvae", 2, 2)]
    public async Task NWorkersMatchOneWorkerWithNTimesTheBatch(string kind, int world, int accumulation)
    {
        ModelOptions options = kind == "vae" ? Vae : VqVae;
        const int steps = 6;
        var (single, start) = await Train(options, 1, steps);
        var (parallel, _) = await Train(options, world, steps, accumulation);

        var moved = single[0].Zip(start).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"{kind}: parameters and codebook should move in {steps} steps; max change {moved}");
        foreach (var rank in parallel) Assert.Equal(parallel[0], rank);
        var maxDiff = single[0].Zip(parallel[0]).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"{kind}: max |1 worker - {world} workers × {accumulation}| after {steps} steps is {maxDiff}, expected ≤ 1e-5");
    }

    /// <summary>
    /// All-reducing buckets during backward gives bit for bit the plain run (the VQ-VAE's codebook statistics, summed
    /// after the gradients, queue behind the buckets still in flight), with buckets launched early and none redone.
    /// </summary>
    [Theory]
    [InlineData("vae", 2, 1)]
    [InlineData("vqvae", 2, 1)]
    [InlineData("vqvae", 3, 2)]
    public async Task WithOverlapTheRunMatchesTheOneWithout(string kind, int world, int accumulation)
    {
        ModelOptions options = kind == "vae" ? Vae : VqVae;
        const int steps = 6;
        var (plain, _, none) = await TrainCounting(options, world, steps, accumulation);
        var (overlapped, _, counts) = await TrainCounting(options, world, steps, accumulation, overlap: true);

        foreach (var rank in overlapped) Assert.Equal(overlapped[0], rank);
        var maxDiff = plain[0].Zip(overlapped[0]).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff == 0, $"{kind}: max |overlap - no overlap| on {world} workers × {accumulation} after {steps} steps is {maxDiff}, expected 0");
        Assert.Equal((0L, 0L), none);
        Assert.True(counts.EarlyLaunches >= steps * world, $"{kind}: expected buckets all-reduced during backward, got {counts.EarlyLaunches}");
        Assert.Equal(0, counts.Redos);
    }

    /// <summary>The property above is not vacuous: a codebook updated from each rank's own statistics drifts apart.</summary>
    [Fact]
    public void CodebookUpdatedFromOneRanksStatisticsDiffersFromTheRoundsUpdate()
    {
        using var scope = torch.NewDisposeScope();
        var data = Data();
        using var a = (VqVaeRecipe)Recipe(VqVae, 3, 1);
        var quantizer = a.Autoencoder.Quantizers[0].Quantizer;
        var first = data.Batch([0, 1, 2, 3]);
        var second = data.Batch([100, 101, 102, 103]);
        Tensor Update(params Tensor[] batches)
        {
            using var b = (VqVaeRecipe)Recipe(VqVae, 3, 1);
            var q = b.Autoencoder.Quantizers[0].Quantizer;
            foreach (var x in batches)
            {
                var pass = b.Autoencoder.Forward(x);
                q.Accumulate(pass.Levels[0].Encoded, pass.Levels[0].Quantized.Codes);
            }
            q.ApplyUpdate(q.TakeStatistics(0, 1), 1, 1);
            return q.Embedding.clone();
        }

        var round = Update(first, second);
        var local = Update(first);
        Assert.True(round.sub(local).abs().max().item<float>() > 1e-4, "the round's update should differ from one rank's");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task CodebooksAreIdenticalOnEveryRankAfterManyStepsWithRestarts(int world)
    {
        var options = VqVae with { DeadCodeThreshold = 0.5, CodebookSize = 16 };
        const int steps = 30;
        var restarts = 0.0;
        var (states, start) = await Train(options, world, steps, onStep: p => restarts += p.Metric(VqVaeRecipe.Restarts));

        foreach (var rank in states.Skip(1)) Assert.Equal(states[0], rank);
        Assert.True(states[0].Zip(start).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "the model should have trained");
        Assert.True(restarts > 0, "dead codes should have been restarted on the way (from candidates gathered over the round)");
    }
}
