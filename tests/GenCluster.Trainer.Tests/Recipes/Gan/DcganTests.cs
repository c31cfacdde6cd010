using GenCluster.Contracts.Models;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using TorchSharp;
using TorchSharp.Modules;

namespace GenCluster.Trainer.Tests.Recipes.Gan;

public class DcganTests
{
    internal static GanRecipe Dcgan(DcganOptions options, long seed) => (GanRecipe)RecipeRegistry.Create(options, new RecipeSetup { Seed = seed });

    [Fact]
    public void ShapesAndRanges()
    {
        using var models = Dcgan(new DcganOptions { LatentDim = 16, Width = 8 }, seed: 1);
        using var scope = torch.NewDisposeScope();
        var z = torch.randn(5, 16);
        var labels = torch.zeros(5, torch.ScalarType.Int64);

        var images = models.Generator.forward(z, labels);
        var logits = models.Discriminator.forward(images, labels);

        Assert.Equal([5L, 1, 28, 28], images.shape);
        Assert.True(images.abs().max().item<float>() <= 1f);
        Assert.Equal([5L], logits.shape);
    }

    [Fact]
    public void InitialisationFollowsThePaper()
    {
        using var models = Dcgan(new DcganOptions(), seed: 2);
        var conv = models.Generator.named_parameters().Single(p => p.name == "deconv2.weight").parameter;
        var bnWeight = models.Discriminator.named_parameters().Single(p => p.name == "bn3.weight").parameter;
        var bnBias = models.Discriminator.named_parameters().Single(p => p.name == "bn3.bias").parameter;

        Assert.InRange(conv.mean().item<float>(), -0.002f, 0.002f);
        Assert.InRange(conv.std().item<float>(), 0.019f, 0.021f);
        Assert.InRange(bnWeight.mean().item<float>(), 0.99f, 1.01f);
        Assert.Equal(0f, bnBias.abs().sum().item<float>());
    }

    [Fact]
    public void DiscriminatorHasNoBatchNormOnItsFirstLayerAndCheckpointKeysAreFieldNames()
    {
        using var models = Dcgan(new DcganOptions(), seed: 3);
        var dModules = models.Discriminator.named_children().Select(c => c.name).ToList();
        var gKeys = models.Generator.state_dict().Keys.ToList();

        Assert.Equal(["conv1", "conv2", "bn2", "conv3", "bn3", "conv4"], dModules);
        Assert.Contains("bn1.running_mean", gKeys);
        Assert.Contains("deconv4.weight", gKeys);
        Assert.IsType<BatchNorm2d>(models.Generator.named_children().Single(c => c.name == "bn1").module);
    }

    [Fact]
    public void TheSameSeedGivesTheSameWeights()
    {
        var spec = new DcganOptions { LatentDim = 8, Width = 4 };
        using var a = Dcgan(spec, seed: 5);
        torch.manual_seed(12345);
        using var b = Dcgan(spec, seed: 5);
        using var c = Dcgan(spec, seed: 6);

        foreach (var ((name, pa), (_, pb)) in a.Generator.named_parameters().Zip(b.Generator.named_parameters()))
            Assert.True(pa.equal(pb).all().item<bool>(), $"generator {name} differs for the same seed");
        var first = a.Discriminator.parameters().First();
        Assert.True(first.equal(b.Discriminator.parameters().First()).all().item<bool>());
        Assert.False(first.equal(c.Discriminator.parameters().First()).all().item<bool>());
    }

    [Fact]
    public void ConvolutionalKindsRefuseImagesOfAnotherSizeNamingBoth()
    {
        var ex = Assert.Throws<ArgumentException>(() => RecipeRegistry.Create(new DcganOptions(), new RecipeSetup { Height = 32, Width = 32 }));
        Assert.Contains("model kind 'dcgan' has networks sized for 28×28 images; the data set's are 32×32", ex.Message);
    }

    [Fact]
    public void ConditionalKindsRefuseUnlabelledData()
    {
        var ex = Assert.Throws<ArgumentException>(() => RecipeRegistry.Create(new CganOptions(), new RecipeSetup { Classes = 0 }));
        Assert.Contains("'cgan' is conditional and needs a labelled data set", ex.Message);
    }
}
