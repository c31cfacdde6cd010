using GenCluster.Contracts.Models;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Autoencoder;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using TorchSharp;

namespace GenCluster.Trainer.Tests.Recipes.Autoencoder;

/// <summary>
/// VQ-VAE-2's two stages in one job: the autoencoder, then the prior on its frozen codes; a checkpoint at the stage's
/// end; a resume lands in the stage of its checkpoint, and the prior stage never changes the stage-1 model.
/// </summary>
public class VqVae2StageTests
{
    private const int Size = 16;
    private const long Steps = 8;

    internal static readonly VqVae2Options Options = new()
    {
        Width = 8, ResidualWidth = 4, ResidualBlocks = 1, CodebookSize = 8, CodeDim = 4, LearningRate = 1e-3,
        PriorSteps = 4, PriorWidth = 8, PriorLayers = 2, PriorKernel = 3, PriorLearningRate = 1e-3,
    };

    private static TrainingSession[] Sessions(string directory, InProcessGroup group, CheckpointRef? resume = null, int world = 2)
    {
        var spec = SessionHarness.TinySpec(3, checkpointEvery: 3, model: Options) with { Steps = Steps };
        return SessionHarness.CreateWith(world, spec, directory, AutoencoderDataParallelTests.Data(Size),
            rank => AutoencoderDataParallelTests.Recipe(Options, 5 + rank, world, Size), group, resume);
    }

    private static float[] AutoencoderState(ITrainingRecipe recipe) =>
        SessionHarness.State(new OnlyAutoencoder(((VqVaeRecipe)recipe)));

    [Fact]
    public void StagesSplitTheJobsSteps()
    {
        var stages = Options.Stages(Steps);
        Assert.Equal([("autoencoder", 0L, 4L), ("prior", 4L, 8L)], stages.Select(s => (s.Name, s.FirstStep, s.EndStep)));
        Assert.Equal("prior", TrainingStage.At(stages, 4).Name);
        Assert.Equal("autoencoder", TrainingStage.At(stages, 3).Name);
        Assert.Single((Options with { PriorSteps = 0 }).Stages(Steps));
        Assert.Contains(Options.ValidateSteps(4), e => e.Field == "model.priorSteps" && e.Message.Contains("< steps (4)"));
    }

    [Fact]
    public async Task StageEndIsCheckpointedAndEachStageTrainsItsOwnNetworks()
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(2);
        var sessions = Sessions(temp.Path, group);
        var metrics = new Dictionary<long, StepProgress>();
        sessions[0].StepCompleted += p => metrics[p.Step] = p;
        float[]? afterStage1 = null;
        sessions[0].StepCompleted += p =>
        {
            if (p.Step == 4) afterStage1 = AutoencoderState(sessions[0].Recipe);
        };
        try
        {
            Assert.False(sessions[0].Recipe.CanSample);
            var ex = Assert.Throws<InvalidOperationException>(() => sessions[0].Recipe.Sample(new SampleRequest(2)));
            Assert.Contains("not been trained", ex.Message);
            await SessionHarness.RunAll(sessions, Steps);
            Assert.Equal(afterStage1, AutoencoderState(sessions[0].Recipe));
            Assert.True(sessions[0].Recipe.CanSample);
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }

        // Stage 1 reports reconstruction, stage 2 the prior's likelihood.
        Assert.True(double.IsFinite(metrics[4].Metric(VqVaeRecipe.Mse)) && double.IsNaN(metrics[4].Metric(VqVaeRecipe.NllTop)));
        Assert.True(double.IsNaN(metrics[5].Metric(VqVaeRecipe.Mse)) && metrics[5].Metric(VqVaeRecipe.NllTop) > 0 && metrics[5].Metric(VqVaeRecipe.NllBottom) > 0);
        // Checkpoints at 3 and 6 by the cadence, at 4 because the autoencoder stage ended there.
        var checkpoints = Directory.GetDirectories(Path.Combine(temp.Path, "checkpoints")).Select(Path.GetFileName).Order().ToList();
        Assert.Contains("step-000004", checkpoints);
        Assert.Equal("autoencoder", CheckpointStore.Load(Path.Combine(temp.Path, "checkpoints", "step-000003")).Manifest.Stage);
        Assert.Equal("prior", CheckpointStore.Load(Path.Combine(temp.Path, "checkpoints", "step-000004")).Manifest.Stage);
        Assert.True(File.Exists(Path.Combine(temp.Path, "reconstructions", "step-000004.png")));
        // The stage's final model is kept beside the pruned step checkpoints.
        var preserved = CheckpointStore.Load(Path.Combine(temp.Path, "checkpoints", "autoencoder-final"));
        Assert.Equal(4, preserved.Manifest.Step);
    }

    [Fact]
    public async Task ResumeInThePriorStageLandsThereKeepsStageOneAndMatchesTheUninterruptedRun()
    {
        float[] uninterrupted;
        using (var temp = RepoPaths.NewTemp())
        using (var group = new InProcessGroup(2))
        {
            var sessions = Sessions(temp.Path, group);
            try
            {
                await SessionHarness.RunAll(sessions, Steps);
                uninterrupted = SessionHarness.State(sessions[0].Recipe);
            }
            finally
            {
                SessionHarness.DisposeAll(sessions);
            }
        }

        using var run = RepoPaths.NewTemp();
        CheckpointRef at6;
        using (var group = new InProcessGroup(2))
        {
            var sessions = Sessions(run.Path, group);
            try
            {
                var results = await SessionHarness.RunAll(sessions, 6);
                at6 = results[0].LastCheckpoint!;
            }
            finally
            {
                SessionHarness.DisposeAll(sessions);
            }
        }
        // Stage 1's model as its stage ended.
        float[] stage1;
        using (var fresh = AutoencoderDataParallelTests.Recipe(Options, 99, 1, Size))
        {
            RecipeCheckpoint.Load(fresh, CheckpointStore.Load(Path.Combine(run.Path, "checkpoints", "step-000004")), networksOnly: true);
            stage1 = AutoencoderState(fresh);
        }

        using (var group = new InProcessGroup(2))
        {
            var sessions = Sessions(run.Path, group, at6);
            string? firstStage = null;
            sessions[0].StepCompleted += p => firstStage ??= sessions[0].Stage.Name;
            try
            {
                await SessionHarness.RunAll(sessions, Steps);
                Assert.Equal("prior", firstStage);
                Assert.Equal(stage1, AutoencoderState(sessions[0].Recipe));
                Assert.Equal(uninterrupted, SessionHarness.State(sessions[0].Recipe));
            }
            finally
            {
                SessionHarness.DisposeAll(sessions);
            }
        }
    }

    [Fact]
    public async Task PriorStepsFollowTheCosineScheduleAndSamplesUseTheFormulasEma()
    {
        using var temp = RepoPaths.NewTemp();
        using var group = new InProcessGroup(2);
        var sessions = Sessions(temp.Path, group);
        var recipe = (VqVaeRecipe)sessions[0].Recipe;
        var priorAfter = new Dictionary<long, double[]>();
        var rates = new Dictionary<long, double>();
        sessions[0].StepCompleted += p =>
        {
            priorAfter[p.Step] = Flatten(recipe.Prior!);
            rates[p.Step] = recipe.Optimizers.Single(o => o.Name == "prior").Optimizer!.ParamGroups.Single().LearningRate;
        };
        try
        {
            await SessionHarness.RunAll(sessions, Steps);
            // Prior steps 5..8 are steps 0..3 of a 4-step stage: η·½(1 + cos(π·t/4)).
            for (var t = 0; t < 4; t++)
                Assert.Equal(Options.PriorLearningRate * 0.5 * (1 + Math.Cos(Math.PI * t / 4)), rates[5 + t], 12);

            // θ_ema starts as the untrained prior (as it stands after stage 1) and follows the ramped decay.
            var expected = priorAfter[4];
            for (long t = 1; t <= 4; t++)
            {
                var decay = Math.Min(Options.PriorEmaDecay, (1.0 + t) / (10.0 + t));
                expected = [.. expected.Zip(priorAfter[4 + t], (e, p) => decay * e + (1 - decay) * p)];
            }
            var ema = Flatten(recipe.PriorEma!);
            Assert.Equal(expected.Length, ema.Length);
            Assert.All(expected.Zip(ema), x => Assert.Equal(x.First, x.Second, 1e-5));
            Assert.NotEqual(priorAfter[8], ema);

            // Samples (and the end-of-job evaluation) ask for the EMA.
            using var fromEma = recipe.Sample(new SampleRequest(4, Ema: true, Seed: 3));
            Assert.True(recipe.HasEma);
            Assert.Equal([4L, 1, Size, Size], fromEma.Images.shape);

            // The bottom prior has its own temperature: near 0 both levels are greedy and seeds agree; with the top
            // still greedy but the bottom at 1, seeds draw different bottom codes (so different images).
            float[] Draw(long seed, double bottom)
            {
                using var batch = recipe.Sample(new SampleRequest(16, Ema: true, Seed: seed, Temperature: 1e-6, BottomTemperature: bottom));
                return batch.Images.data<float>().ToArray();
            }
            Assert.Equal(Draw(1, 1e-6), Draw(2, 1e-6));
            Assert.NotEqual(Draw(1, 1.0), Draw(2, 1.0));
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }

        Assert.Empty(Options.Validate());
        Assert.Contains((Options with { PriorSchedule = "linear" }).Validate(), e => e.Field == "model.priorSchedule" && e.Message.Contains("linear"));
        Assert.Contains((Options with { PriorEmaDecay = 1 }).Validate(), e => e.Field == "model.priorEmaDecay" && e.Message.Contains("got 1"));
        Assert.Contains((Options with { BottomPriorTemperature = -0.5 }).Validate(), e => e.Field == "model.bottomPriorTemperature");
    }

    private static double[] Flatten(torch.nn.Module module) =>
        [.. module.parameters().SelectMany(p => p.detach().cpu().to_type(torch.ScalarType.Float64).data<double>().ToArray())];

    /// <summary>A recipe view with only the autoencoder network, for its state.</summary>
    private sealed class OnlyAutoencoder(VqVaeRecipe recipe) : ITrainingRecipe
    {
        public string Kind => recipe.Kind;
        public IReadOnlyList<RecipeNetwork> Networks => recipe.Networks.Where(n => n.Name == "autoencoder").ToList();
        public IReadOnlyList<RecipeOptimizer> Optimizers => [];
        public IReadOnlyList<string> MetricNames => [];
        public int Classes => 0;
        public bool HasEma => false;
        public long GradientBytesPerStep => 0;
        public void RecomputeBuffers()
        {
        }

        public void Step(StepContext context) => throw new NotSupportedException();
        public SampleBatch Sample(SampleRequest request) => throw new NotSupportedException();
        public void Dispose()
        {
        }
    }
}
