using GenCluster.Contracts.Models;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Recipes.Gan;

/// <summary>BigGAN's networks and the parts of its recipe that are its own (layout, conditioning, orthogonal regularisation, sampling).</summary>
public class BigGanTests
{
    private static BigGanOptions Small(int attention = 0) => new() { LatentDim = 12, Width = 4, SharedDim = 6, AttentionResolution = attention };

    private static GanRecipe BigGan(BigGanOptions options, int side = 28, int channels = 1, long seed = 1) =>
        (GanRecipe)RecipeRegistry.Create(options, new RecipeSetup { Seed = seed, Classes = 10, Height = side, Width = side, Channels = channels });

    [Theory]
    [InlineData(28, 1, 7, new[] { 14, 28 }, new[] { 14, 7, 7 })]
    [InlineData(32, 3, 4, new[] { 8, 16, 32 }, new[] { 16, 8, 4, 4 })]
    public void TheLayoutEndsAtTheImageSideAndTheProjectionSeesFourTimesTheWidth(int side, int channels, int bottom, int[] gSides, int[] dSides)
    {
        var layout = BigGanArchitecture.For(side, channels, ch: 8);

        Assert.Equal(bottom, layout.BottomWidth);
        Assert.Equal(gSides, layout.GBlocks.Select(b => b.Side));
        Assert.Equal(dSides, layout.DBlocks.Select(b => b.Side));
        Assert.Equal(channels, layout.DBlocks[0].In);
        Assert.Equal(8, layout.GBlocks[^1].Out);
        Assert.Equal(32, layout.DFeatures);
        Assert.Equal(gSides.Length + 1, layout.LatentChunks);
        for (var i = 1; i < layout.GBlocks.Count; i++) Assert.Equal(layout.GBlocks[i - 1].Out, layout.GBlocks[i].In);
        for (var i = 1; i < layout.DBlocks.Count; i++) Assert.Equal(layout.DBlocks[i - 1].Out, layout.DBlocks[i].In);
    }

    [Fact]
    public void AnotherImageSizeIsRefusedNamingTheSizes()
    {
        var ex = Assert.Throws<ArgumentException>(() => BigGan(Small(), side: 64));
        Assert.Contains("28×28 and 32×32", ex.Message);
        Assert.Contains("64×64", ex.Message);
    }

    [Theory]
    [InlineData(28, 1)]
    [InlineData(32, 3)]
    public void GeneratesImagesOfTheDataShapeAndDScoresThem(int side, int channels)
    {
        using var recipe = BigGan(Small(), side, channels);
        using var scope = NewDisposeScope();
        var images = recipe.Generator.forward(torch.randn(6, 12), torch.arange(6, dtype: ScalarType.Int64));
        var logits = recipe.Discriminator.forward(images, torch.arange(6, dtype: ScalarType.Int64));

        Assert.Equal([6L, channels, side, side], images.shape);
        Assert.True(images.abs().max().item<float>() <= 1f);
        Assert.Equal([6L], logits.shape);
    }

    [Fact]
    public void TheClassChangesGsImageAndDsScoreForTheSameInputs()
    {
        using var recipe = BigGan(Small());
        using var scope = NewDisposeScope();
        var z = torch.randn(8, 12, generator: new torch.Generator(3));
        var zeros = torch.zeros(8, ScalarType.Int64);
        var threes = torch.full(8, 3L, ScalarType.Int64);

        var a = recipe.Generator.forward(z, zeros);
        var b = recipe.Generator.forward(z, threes);
        Assert.True(a.sub(b).abs().max().item<float>() > 1e-4f, "G ignores the class");

        var x = torch.rand(8, 1, 28, 28).mul(2).sub(1);
        var da = recipe.Discriminator.forward(x, zeros);
        var db = recipe.Discriminator.forward(x, threes);
        Assert.True(da.sub(db).abs().max().item<float>() > 1e-5f, "D ignores the class");
    }

    [Fact]
    public void EveryZChunkReachesTheImage()
    {
        using var recipe = BigGan(Small());
        using var scope = NewDisposeScope();
        var labels = torch.arange(4, dtype: ScalarType.Int64);
        var z = torch.randn(4, 12, generator: new torch.Generator(5));
        var reference = recipe.Generator.forward(z, labels);
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var changed = z.clone();
            changed[.., TensorIndex.Slice(chunk * 4, chunk * 4 + 4)] = torch.randn(4, 4, generator: new torch.Generator(9));
            var image = recipe.Generator.forward(changed, labels);
            Assert.True(image.sub(reference).abs().max().item<float>() > 1e-5f, $"z chunk {chunk} does not reach the image");
        }
    }

    [Fact]
    public void ALatentSizeThatDoesNotSplitIntoChunksIsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => BigGan(Small() with { LatentDim = 10 }));
        Assert.Contains("model.latentDim 10 must be a multiple of 3", ex.Message);
        using var flat = BigGan(Small() with { LatentDim = 10, HierarchicalLatents = false });
    }

    [Fact]
    public void AttentionSitsAtTheRequestedResolutionOrIsRefused()
    {
        // Attention needs at least 8 channels: width 8 gives G 16 and D 8 at 14×14.
        using var recipe = BigGan(Small(attention: 14) with { Width = 8 });
        Assert.Contains(recipe.Generator.named_parameters(), p => p.name == "attention.gamma");
        Assert.Contains(recipe.Discriminator.named_parameters(), p => p.name == "attention.gamma");
        Assert.DoesNotContain(BigGan(Small()).Generator.named_parameters(), p => p.name.StartsWith("attention.", StringComparison.Ordinal));

        var ex = Assert.Throws<ArgumentException>(() => BigGan(Small(attention: 16) with { Width = 8 }));
        Assert.Contains("model.attentionResolution 16", ex.Message);
    }

    [Fact]
    public void WeightsStartOrthogonal()
    {
        using var recipe = BigGan(Small());
        var w = recipe.Generator.named_parameters().Single(p => p.name == "blocks.0.conv1.weight").parameter;
        using var scope = NewDisposeScope();
        var rows = w.reshape(w.shape[0], -1);
        var gram = rows.matmul(rows.t());
        Assert.True(gram.sub(torch.eye(w.shape[0])).abs().max().item<float>() < 1e-5f, "rows are not orthonormal");
    }

    [Fact]
    public void OrthogonalRegularisationMovesGsWeightsButNotTheSharedEmbedding()
    {
        var labels = Enumerable.Range(0, 32).Select(i => i % 10).ToArray();
        var data = new ImageDataset(SyntheticIdx.Images(32, 28, 28), 32, 28, 28, 1, labels, 10);
        Dictionary<string, Tensor> AfterOneStep(double beta)
        {
            using var group = new InProcessGroup(1);
            using var recipe = BigGan(Small() with { OrthogonalRegularization = beta, DSteps = 1 });
            using var noise = new NoiseStreams(7);
            var sampler = new DistributedSampler(32, 1, 0, 8, seed: 1);
            using (NewDisposeScope()) recipe.Step(new StepContext(group.For(0), data, sampler, noise, 8, 1, torch.CPU, 0, default));
            return recipe.Generator.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        }

        var plain = AfterOneStep(0);
        var regularised = AfterOneStep(10);

        Assert.True(plain["shared.weight"].eq(regularised["shared.weight"]).all().item<bool>(), "the shared embedding was regularised");
        // The input layer's weight [784, 4] has more rows than columns: its rows cannot be orthogonal, so the penalty pushes it.
        Assert.False(plain["linear.weight"].allclose(regularised["linear.weight"]), "the input layer was not regularised");
        // A conv weight viewed as [8, 144] starts with orthonormal rows: the off-diagonal Gram matrix is 0, so is its push.
        Assert.True(plain["blocks.0.conv1.weight"].allclose(regularised["blocks.0.conv1.weight"], rtol: 0, atol: 1e-7), "an orthogonal weight was pushed");
    }

    [Fact]
    public void SamplesOfOneClassWithTruncationFromTheEmaGenerator()
    {
        using var recipe = BigGan(Small() with { EmaDecay = 0.9 });
        using var batch = recipe.Sample(new SampleRequest(6, ClassLabel: 4, Ema: true, Seed: 2, Truncation: 0.5));
        Assert.Equal([6L, 1, 28, 28], batch.Images.shape);
        Assert.All(batch.Labels!.data<long>().ToArray(), l => Assert.Equal(4L, l));
        using var again = recipe.Sample(new SampleRequest(6, ClassLabel: 4, Ema: true, Seed: 2, Truncation: 0.5));
        Assert.True(batch.Images.eq(again.Images).all().item<bool>(), "the same request gave different images");
    }

    [Fact]
    public void StandingStatisticsFollowTheTruncationOfTheSamples()
    {
        using var recipe = BigGan(Small() with { EmaDecay = 0.9, HierarchicalLatents = false });
        float FirstVariance() =>
            recipe.GeneratorEma!.named_buffers().Single(b => b.name == "blocks.0.bn1.bn.running_var").buffer.mean().item<float>();

        using (recipe.Sample(new SampleRequest(4, Ema: true, Seed: 1))) { }
        var full = FirstVariance();
        using (recipe.Sample(new SampleRequest(4, Ema: true, Seed: 1, Truncation: 0.5))) { }
        var truncated = FirstVariance();
        recipe.RecomputeBuffers();

        // z truncated at 0.5 has variance ≈ 0.08 of N(0, 1)'s; the input layer is linear, so its features' variance follows.
        Assert.InRange(truncated / full, 0.03, 0.2);
        Assert.Equal(full, FirstVariance(), 6);
    }
}
