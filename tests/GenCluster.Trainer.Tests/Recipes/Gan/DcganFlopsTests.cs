using GenCluster.Contracts.Models;
using GenCluster.Trainer.Recipes.Gan;

namespace GenCluster.Trainer.Tests.Recipes.Gan;

public class DcganFlopsTests
{
    [Theory]
    [InlineData(16, 8)]
    [InlineData(100, 64)]
    public void MacsMatchTheLayersWeightsTimesTheirPixelCounts(int latent, int width)
    {
        using var models = DcganTests.Dcgan(new DcganOptions { LatentDim = latent, Width = width }, seed: 1);
        // Transposed convolutions cost weights × input pixels; convolutions weights × output pixels.
        var gPixels = new Dictionary<string, long> { ["deconv1"] = 1, ["deconv2"] = 16, ["deconv3"] = 49, ["deconv4"] = 196 };
        var dPixels = new Dictionary<string, long> { ["conv1"] = 196, ["conv2"] = 49, ["conv3"] = 16, ["conv4"] = 1 };

        long Count(GanRecipe m, bool generator, Dictionary<string, long> pixels) =>
            (generator ? m.Generator : m.Discriminator).named_parameters()
                .Where(p => p.name.EndsWith(".weight", StringComparison.Ordinal) && pixels.ContainsKey(p.name.Split('.')[0]))
                .Sum(p => p.parameter.numel() * pixels[p.name.Split('.')[0]]);

        Assert.Equal(Count(models, true, gPixels), DcganFlops.GeneratorMacs(latent, width));
        Assert.Equal(Count(models, false, dPixels), DcganFlops.DiscriminatorMacs(width));
    }
}
