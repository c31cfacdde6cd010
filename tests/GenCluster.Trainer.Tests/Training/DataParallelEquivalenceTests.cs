using GenCluster.Contracts.Models;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Layers;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using GenCluster.Trainer.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Tests.Training;

/// <summary>
/// n workers with batch B follow the parameters of 1 worker with batch n·B (networks without batch-coupled layers, or
/// with BatchNorm synchronised over the round), per GAN family: its objective, critic steps, clipping, gradient penalty,
/// stabilisers and EMA copy included.
/// </summary>
public class DataParallelEquivalenceTests
{
    private const int Steps = 6;
    private const int GlobalBatch = 12;

    /// <summary>Family configurations (the kind's own step logic with tiny networks).</summary>
    public static TheoryData<string, int> Families() => new()
    {
        { "dcgan", 2 }, { "dcgan", 3 }, { "hinge", 2 }, { "wgan", 2 }, { "wgan-gp", 3 }, { "stabilisers", 2 }, { "cgan", 3 }, { "sngan", 2 },
    };

    private static GanOptions Options(string family) => family switch
    {
        "dcgan" => new DcganOptions { LatentDim = TinyGan.Latent, LearningRateD = 1e-3, LearningRateG = 1e-3, EmaDecay = 0.9 },
        "hinge" => new DcganOptions { LatentDim = TinyGan.Latent, LearningRateD = 1e-3, LearningRateG = 1e-3, Objective = "hinge" },
        "wgan" => new WganOptions { LatentDim = TinyGan.Latent, LearningRateD = 1e-3, LearningRateG = 1e-3, DSteps = 2, Clip = 0.05 },
        "wgan-gp" => new WganGpOptions { LatentDim = TinyGan.Latent, LearningRateD = 1e-3, LearningRateG = 1e-3, DSteps = 2 },
        "stabilisers" => new DcganOptions { LatentDim = TinyGan.Latent, LabelSmoothing = 0.1, HistoricalAveraging = 0.5, EmaDecay = 0.5, EmaStart = 2 },
        "cgan" => new CganOptions { LatentDim = TinyGan.Latent, Width = 16 },
        "sngan" => new SnganOptions { LatentDim = TinyGan.Latent },
        "dcgan-syncbn" => BatchNormOptions with { SyncBatchNorm = true },
        "dcgan-bn" => BatchNormOptions,
        "biggan-syncbn" => BigGanOptions,
        "biggan-bn" => BigGanOptions with { SyncBatchNorm = false },
        _ => throw new ArgumentException(family),
    };

    /// <summary>DCGAN with BatchNorm in G and D (28×28, width 4), two critic steps and an EMA copy.</summary>
    private static readonly DcganOptions BatchNormOptions =
        new() { LatentDim = TinyGan.Latent, Width = 4, LearningRateD = 1e-3, LearningRateG = 1e-3, DSteps = 2, EmaDecay = 0.9 };

    /// <summary>BigGAN's own 28×28 networks at width 4: conditional BatchNorm with the shared embedding and z chunks, projection D, orthogonal regularisation, 2 D steps, EMA.</summary>
    private static readonly BigGanOptions BigGanOptions = new()
    {
        LatentDim = 12, Width = 4, SharedDim = 4, LearningRateD = 1e-3, LearningRateG = 1e-3, DSteps = 2, EmaDecay = 0.9, EmaStart = 2,
        OrthogonalRegularization = 1e-3, SyncBatchNorm = true,
    };

    private static GanNetworks Networks(string family, long seed) => family switch
    {
        "biggan-syncbn" or "biggan-bn" => GanNetworks.For(BigGanOptions, new RecipeSetup { Seed = seed, Classes = 10 }),
        "dcgan-syncbn" or "dcgan-bn" => WithBatchNorm(seed),
        "cgan" => Conditional(seed),
        "sngan" => SpectralD(seed),
        _ => TinyGan.Create(seed),
    };

    private static GanNetworks Conditional(long seed)
    {
        var g = new MlpGenerator(TinyGan.Latent, 16, 1, 8, 8, classes: 10, batchNorm: false);
        var d = new MlpDiscriminator(16, 1, 8, 8, classes: 10);
        using var init = new torch.Generator((ulong)seed);
        GanWeightInit.Apply(g, init);
        GanWeightInit.Apply(d, init);
        return new GanNetworks(g, d, () => new MlpGenerator(TinyGan.Latent, 16, 1, 8, 8, classes: 10, batchNorm: false), TinyGan.Latent);
    }

    private static GanNetworks WithBatchNorm(long seed)
    {
        var g = new DcganGenerator(TinyGan.Latent, 4);
        var d = new DcganDiscriminator(4);
        using var init = new torch.Generator((ulong)seed);
        GanWeightInit.Apply(g, init);
        GanWeightInit.Apply(d, init);
        return new GanNetworks(g, d, () => new DcganGenerator(TinyGan.Latent, 4), TinyGan.Latent);
    }

    private static GanNetworks SpectralD(long seed)
    {
        var tiny = TinyGan.Create(seed);
        tiny.Discriminator.Dispose();
        var d = new TinySpectralDiscriminator(new torch.Generator((ulong)seed + 1));
        return tiny with { Discriminator = d };
    }

    private static ImageDataset Data(string family)
    {
        var size = family is "dcgan-syncbn" or "dcgan-bn" or "biggan-syncbn" or "biggan-bn" ? 28 : 8;
        return new(SyntheticIdx.Images(240, size, size), 240, size, size, 1, Enumerable.Range(0, 240).Select(i => i * 7 % 10).ToArray(), 10);
    }

    private static async Task<(float[] State, float[] Start)> Train(string family, int world, int accumulation = 1, bool ranksAgree = true, bool shardOptimizer = false)
    {
        var run = await TrainCounting(family, world, accumulation, ranksAgree, shardOptimizer);
        return (run.State, run.Start);
    }

    private sealed record Run(float[] State, float[] Start, long EarlyLaunches, long Redos, long ForwardsOverlapped = 0);

    /// <summary>Trains <see cref="Steps"/> steps; <paramref name="overlap"/> all-reduces during backward, one parameter per bucket.</summary>
    private static async Task<Run> TrainCounting(string family, int world, int accumulation = 1, bool ranksAgree = true, bool shardOptimizer = false,
        bool overlap = false)
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(world);
        var spec = SessionHarness.TinySpec(GlobalBatch / world / accumulation, model: Options(family)) with { ShardOptimizer = shardOptimizer };
        float[] start;
        using (var initial = TinyGan.Recipe(Options(family), Networks(family, 11), 1)) start = SessionHarness.State(initial);
        // Each rank starts from different weights: the round-start broadcast must make them rank 0's.
        var sessions = SessionHarness.Create(world, spec, temp.Path, Data(family), rank => Networks(family, 11 + 100 * rank), group,
            accumulation: accumulation, overlap: overlap, bucketBytes: overlap ? 1 : 8192);
        try
        {
            var results = await SessionHarness.RunAll(sessions, Steps);
            Assert.All(results, r => Assert.Equal(Steps, r.Step));
            Assert.All(results, r => Assert.Equal(0, r.SkippedSteps));
            var states = sessions.Select(s => SessionHarness.State(s.Recipe)).ToList();
            if (ranksAgree)
            {
                foreach (var other in states.Skip(1))
                    Assert.Equal(states[0], other);
            }
            var counts = sessions.Select(s => ((GanRecipe)s.Recipe).OverlapCounts).ToList();
            return new Run(states[0], start, counts.Sum(c => c.EarlyLaunches), counts.Sum(c => c.Redos),
                sessions.Sum(s => ((GanRecipe)s.Recipe).ForwardsOverlapped));
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public async Task NWorkersMatchOneWorkerWithNTimesTheBatch(string family, int world)
    {
        var (single, start) = await Train(family, 1);
        var (parallel, _) = await Train(family, world);

        var moved = single.Zip(start).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"{family}: parameters should move in {Steps} steps; max change {moved}");

        var maxDiff = single.Zip(parallel).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"{family}: max |1 worker - {world} workers| after {Steps} steps is {maxDiff}, expected ≤ 1e-5");
    }

    [Theory]
    [InlineData("dcgan", 1, 3)]
    [InlineData("dcgan", 2, 2)]
    [InlineData("wgan-gp", 2, 2)]
    public async Task GradientAccumulationWithTheSameGlobalBatchMatchesOneWorker(string family, int world, int accumulation)
    {
        var (single, _) = await Train(family, 1);
        var (accumulated, _) = await Train(family, world, accumulation);

        var maxDiff = single.Zip(accumulated).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"{family}: max |1 worker - {world} workers × {accumulation} micro-batches| is {maxDiff}, expected ≤ 1e-5");
    }

    /// <summary>BatchNorm in G and D synchronised over the round: n workers × B follow 1 worker × n·B, with critic steps, no-grad G passes and accumulation.</summary>
    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public async Task WithSyncBatchNormNWorkersMatchOneWorkerWithNTimesTheBatch(int world, int accumulation)
    {
        var (single, start) = await Train("dcgan-syncbn", 1, accumulation);
        var (parallel, _) = await Train("dcgan-syncbn", world, accumulation);

        var moved = single.Zip(start).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"parameters should move in {Steps} steps; max change {moved}");
        var maxDiff = single.Zip(parallel).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"sync BN: max |1 worker - {world} workers × {accumulation} micro-batches| after {Steps} steps is {maxDiff}, expected ≤ 1e-5");
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(2, 2)]
    // 3 workers × 2 micro-batches of 2 images drift to ~1e-3 in 6 steps, most likely because float32 sums in another order flip the sign
    // of near-zero gradient elements (the spectral norm's σ reaches every row of D's class embedding), which Adam turns
    // into ±lr steps. DCGAN's sync-BN case above covers 3 × 2; here 3 workers and accumulation are covered separately.
    public async Task BigGanWithSyncBatchNormOnNWorkersMatchesOneWorkerWithNTimesTheBatch(int world, int accumulation)
    {
        var (single, start) = await Train("biggan-syncbn", 1, accumulation);
        var (parallel, _) = await Train("biggan-syncbn", world, accumulation);

        var moved = single.Zip(start).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"parameters should move in {Steps} steps; max change {moved}");
        var maxDiff = single.Zip(parallel).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"BigGAN with sync BN: max |1 worker - {world} workers × {accumulation} micro-batches| after {Steps} steps is {maxDiff}, expected ≤ 1e-5");
    }

    /// <summary>
    /// Sharded optimiser state (ZeRO-1) follows the replicated run of the same world size, and so one worker with the
    /// whole batch: DCGAN's own networks with synchronised BatchNorm, critic steps and EMA, and BigGAN with its
    /// orthogonal regularisation.
    /// </summary>
    [Theory]
    [InlineData("dcgan", 2)]
    [InlineData("dcgan", 3)]
    [InlineData("wgan-gp", 3)]
    [InlineData("dcgan-syncbn", 2)]
    [InlineData("dcgan-syncbn", 3)]
    [InlineData("biggan-syncbn", 2)]
    public async Task ShardedOptimizerStateFollowsTheReplicatedRun(string family, int world)
    {
        var (replicated, start) = await Train(family, world);
        var (sharded, _) = await Train(family, world, shardOptimizer: true);
        var (single, _) = await Train(family, 1);

        var moved = replicated.Zip(start).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"{family}: parameters should move in {Steps} steps; max change {moved}");
        var maxDiff = replicated.Zip(sharded).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff <= 1e-5, $"{family}: max |replicated - sharded| on {world} workers after {Steps} steps is {maxDiff}, expected ≤ 1e-5");
        var fromSingle = single.Zip(sharded).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(fromSingle <= 1e-5, $"{family}: max |1 worker - {world} sharded workers| after {Steps} steps is {fromSingle}, expected ≤ 1e-5");
    }

    /// <summary>
    /// All-reducing gradient buckets during backward (one parameter per bucket, so most launch before backward ends)
    /// changes when the averages travel, not what they are: bit for bit the run that all-reduces after backward, and so
    /// one worker with the whole batch; and the buckets did launch early, with no average redone.
    /// </summary>
    [Theory]
    [InlineData("dcgan", 2, 1)]
    [InlineData("dcgan", 3, 1)]
    [InlineData("dcgan", 2, 2)]
    [InlineData("hinge", 2, 1)]
    [InlineData("wgan", 2, 1)]
    [InlineData("wgan", 3, 2)]
    [InlineData("stabilisers", 2, 1)]
    [InlineData("cgan", 3, 1)]
    [InlineData("sngan", 2, 1)]
    [InlineData("dcgan-bn", 2, 1)]
    [InlineData("biggan-bn", 2, 1)]
    public async Task WithOverlapTheRunMatchesTheOneWithout(string family, int world, int accumulation)
    {
        // Per-rank BatchNorm statistics: the ranks differ, but overlap must still change nothing on any of them.
        var agree = family is not ("dcgan-bn" or "biggan-bn");
        var plain = await TrainCounting(family, world, accumulation, ranksAgree: agree);
        var overlapped = await TrainCounting(family, world, accumulation, ranksAgree: agree, overlap: true);

        var moved = plain.State.Zip(plain.Start).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"{family}: parameters should move in {Steps} steps; max change {moved}");
        var maxDiff = plain.State.Zip(overlapped.State).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff == 0, $"{family}: max |overlap - no overlap| on {world} workers × {accumulation} after {Steps} steps is {maxDiff}, expected 0");
        Assert.True(overlapped.EarlyLaunches >= Steps * world, $"{family}: expected buckets all-reduced during backward, got {overlapped.EarlyLaunches} in {Steps} steps on {world} ranks");
        Assert.Equal(0, overlapped.Redos);
        Assert.Equal(0, plain.EarlyLaunches);
        // Every critic iteration but the last ran the next one's first generator forward while its gradients all-reduced.
        Assert.Equal(Steps * world * (Options(family).DSteps - 1), overlapped.ForwardsOverlapped);
        Assert.Equal(0, plain.ForwardsOverlapped);
        if (!agree) return;
        var (single, _) = await Train(family, 1, accumulation);
        var fromSingle = single.Zip(overlapped.State).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(fromSingle <= 1e-5, $"{family}: max |1 worker - {world} workers with overlap| after {Steps} steps is {fromSingle}, expected ≤ 1e-5");
    }

    /// <summary>The same networks with per-worker BatchNorm statistics do not follow one worker: the property above is not vacuous.</summary>
    [Fact]
    public async Task WithoutSyncBatchNormBatchNormNetworksDoNotMatchOneWorker()
    {
        var (single, _) = await Train("dcgan-bn", 1);
        var (parallel, _) = await Train("dcgan-bn", 2, ranksAgree: false);

        var maxDiff = single.Zip(parallel).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff > 1e-3, $"per-worker BatchNorm should not match one worker with the whole batch; max |Δ| = {maxDiff}");
    }

    /// <summary>An 8×8 spectrally normalised MLP critic: its u vectors depend on the weights only, so every rank holds the same.</summary>
    private sealed class TinySpectralDiscriminator : Module<Tensor, Tensor, Tensor>
    {
        private readonly SNLinear fc1;
        private readonly SNLinear fc2;

        public TinySpectralDiscriminator(torch.Generator generator) : base(nameof(TinySpectralDiscriminator))
        {
            fc1 = new SNLinear(64, 16, generator: generator);
            fc2 = new SNLinear(16, 1, generator: generator);
            RegisterComponents();
        }

        public override Tensor forward(Tensor images, Tensor labels)
        {
            using var scope = NewDisposeScope();
            var x = functional.leaky_relu(fc1.call(images.flatten(1)), 0.1);
            return scope.MoveToOuter(fc2.call(x).view(-1));
        }
    }
}
