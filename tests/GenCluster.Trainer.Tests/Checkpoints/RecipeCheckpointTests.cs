using GenCluster.Contracts.Models;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Tests.Checkpoints;

/// <summary>A checkpoint of one kind or shape is refused by another with a message naming file, key and shapes.</summary>
public class RecipeCheckpointTests
{
    private static async Task<Contracts.Workers.CheckpointRef> Write(string dir, GanOptions model, int hidden = 16)
    {
        using var group = new InProcessGroup(1);
        var sessions = SessionHarness.Create(1, SessionHarness.TinySpec(4, model: model), dir, SyntheticIdx.Dataset(32), _ => TinyGan.Create(1, hidden), group);
        try
        {
            return (await SessionHarness.RunAll(sessions, 1))[0].LastCheckpoint!;
        }
        finally
        {
            SessionHarness.DisposeAll(sessions);
        }
    }

    [Fact]
    public async Task AnotherKindIsRefusedNamingBothKinds()
    {
        using var temp = RepoPaths.NewTemp();
        var checkpoint = CheckpointStore.Load(await Write(temp.Path, new WganOptions { LatentDim = TinyGan.Latent }));
        using var recipe = TinyGan.Recipe(new DcganOptions { LatentDim = TinyGan.Latent }, TinyGan.Create(1), 1);

        var ex = Assert.Throws<CheckpointMismatchException>(() => RecipeCheckpoint.Load(recipe, checkpoint));
        Assert.Contains("checkpoint holds model kind 'wgan', this job trains 'dcgan'", ex.Message);
        Assert.Contains(checkpoint.Directory, ex.Message);
    }

    [Fact]
    public async Task AnotherShapeIsRefusedNamingFileKeyAndShapesBeforeAnyWeightChanges()
    {
        using var temp = RepoPaths.NewTemp();
        var model = new DcganOptions { LatentDim = TinyGan.Latent, EmaDecay = 0 };
        var checkpoint = CheckpointStore.Load(await Write(temp.Path, model, hidden: 16));
        using var recipe = TinyGan.Recipe(model, TinyGan.Create(2, hidden: 24), 1);
        var before = SessionHarness.State(recipe);

        var ex = Assert.Throws<CheckpointMismatchException>(() => RecipeCheckpoint.Load(recipe, checkpoint));
        Assert.Contains("generator.bin", ex.Message);
        Assert.Contains("key 'fc1.weight' has Float32 shape [16,4] in the checkpoint, Float32 shape [24,4] in this model", ex.Message);
        Assert.Equal(before, SessionHarness.State(recipe));
    }

    [Fact]
    public async Task TheManifestCarriesKindSpecLayoutsAndDataShape()
    {
        using var temp = RepoPaths.NewTemp();
        var model = new WganGpOptions { LatentDim = TinyGan.Latent, GradientPenalty = 3 };
        var m = CheckpointStore.Load(await Write(temp.Path, model)).Manifest;

        Assert.Equal((CheckpointManifest.CurrentFormat, "wgan-gp"), (m.Format, m.ModelKind));
        Assert.Equal(model, m.ReadSpec(temp.Path).Model);
        Assert.Equal(["discriminator", "generator", "generator_ema"], m.Layouts.Keys.Order());
        Assert.Equal(new ImageShape(1, 8, 8, 0), m.Data);
        Assert.Contains("noise_latents", m.RngStates.Keys);
        Assert.Contains("noise_uniform", m.RngStates.Keys);
    }
}
