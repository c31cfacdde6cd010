using GenCluster.Contracts.Models;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Tests.Training;

public class BackwardOverlapTests
{
    [Fact]
    public void OverlapIsRefusedWhereBackwardHooksCannotTellWhenGradientsAreFinal()
    {
        Assert.Null(BackwardOverlap.Refusal(gradientPenalty: false, syncBatchNorm: false, shardOptimizer: false));
        Assert.Contains("gradient penalty", BackwardOverlap.Refusal(true, false, false));
        Assert.Contains("BatchNorm", BackwardOverlap.Refusal(false, true, false));
        Assert.Contains("sharded", BackwardOverlap.Refusal(false, false, true));

        using var dcgan = TinyGan.Recipe(new DcganOptions { LatentDim = TinyGan.Latent }, TinyGan.Create(1), 2, overlap: true);
        Assert.Null(dcgan.OverlapRefusal);
        using var gp = TinyGan.Recipe(new WganGpOptions { LatentDim = TinyGan.Latent }, TinyGan.Create(1), 2, overlap: true);
        Assert.Contains("gradient penalty", gp.OverlapRefusal);
        using var off = TinyGan.Recipe(new DcganOptions { LatentDim = TinyGan.Latent }, TinyGan.Create(1), 2, overlap: false);
        Assert.Contains("off", off.OverlapRefusal);
    }

    [Theory]
    [InlineData(100L * 1024, 64L * 1024)]
    [InlineData(1L << 20, 256L * 1024)]
    [InlineData(1L << 30, 25L * 1024 * 1024)]
    public void AutomaticBucketsAreAQuarterOfTheGradientsWithinBounds(long total, long expected) =>
        Assert.Equal(expected, GradientBuckets.AutoBucketBytes(total));

    [Fact]
    public void AutomaticBucketSizeSplitsASmallNetworkIntoSeveralBuckets()
    {
        using var networks = new DcganDiscriminator(32);
        using var buckets = new GradientBuckets(networks.parameters(), 0, flagSlots: 2);
        Assert.InRange(buckets.Count, 3, 6);
    }

    /// <summary>
    /// A critic that uses its last layer's weight again outside that layer, in a term built before the layer runs: the
    /// gradient-arrival hook fires before that weight's gradient is complete, so the bucket launched early is stale. Every
    /// rank must notice (the stale flag travels with the last bucket) and redo the average: the result is still exactly
    /// the plain run's.
    /// </summary>
    [Fact]
    public async Task AStaleEarlyBucketIsDetectedAndTheAverageRedoneOnEveryRank()
    {
        var options = new DcganOptions { LatentDim = TinyGan.Latent, LearningRateD = 1e-3, LearningRateG = 1e-3 };
        var plain = await Train(options, overlap: false);
        var overlapped = await Train(options, overlap: true);

        Assert.Equal(0, plain.Redos);
        Assert.True(overlapped.Redos >= 6, $"every step's D average should have been redone on both ranks, got {overlapped.Redos}");
        var maxDiff = plain.State.Zip(overlapped.State).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(maxDiff == 0, $"max |overlap - no overlap| is {maxDiff}, expected 0");
    }

    private static async Task<(float[] State, long Redos)> Train(DcganOptions options, bool overlap)
    {
        const int world = 2;
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(world);
        var spec = SessionHarness.TinySpec(6, model: options);
        var data = SyntheticIdx.Dataset(240);
        var sessions = SessionHarness.Create(world, spec, temp.Path, data, _ => WithReusingCritic(11), group, overlap: overlap, bucketBytes: 1);
        try
        {
            var results = await SessionHarness.RunAll(sessions, 6);
            Assert.All(results, r => Assert.Equal(0, r.SkippedSteps));
            var states = sessions.Select(s => SessionHarness.State(s.Recipe)).ToList();
            Assert.Equal(states[0], states[1]);
            return (states[0], sessions.Sum(s => ((GanRecipe)s.Recipe).OverlapCounts.Redos));
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    private static GanNetworks WithReusingCritic(long seed)
    {
        var tiny = TinyGan.Create(seed);
        tiny.Discriminator.Dispose();
        torch.manual_seed(seed);
        return tiny with { Discriminator = new ReusingCritic(16, 8) };
    }

    private sealed class ReusingCritic : Module<Tensor, Tensor, Tensor>
    {
        private readonly Linear fc1;
        private readonly Linear fc2;

        public ReusingCritic(int hidden, int size) : base(nameof(ReusingCritic))
        {
            fc1 = Linear(size * size, hidden);
            fc2 = Linear(hidden, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor images, Tensor labels)
        {
            using var scope = NewDisposeScope();
            // Built before fc2 runs, so backward reaches it after fc2's input: fc2.weight's gradient is not final then.
            var reuse = fc2.weight!.sum().mul(0.01);
            var x = functional.leaky_relu(fc1.call(images.flatten(1)), 0.2);
            return scope.MoveToOuter(fc2.call(x).view(-1).add(reuse));
        }
    }
}
