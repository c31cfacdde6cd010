using GenCluster.Trainer.Recipes.Autoencoder;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Recipes.Autoencoder;

/// <summary>The VAE's held-out bound: the negative ELBO of one draw of z per image, recomputed here by hand in float64.</summary>
public class VaeRecipeTests
{
    /// <summary>A small VAE in float64, so the hand computation can be held to 1e-9.</summary>
    private static VaeRecipe NewVae()
    {
        var recipe = (VaeRecipe)AutoencoderDataParallelTests.Recipe(AutoencoderDataParallelTests.Vae, 3, 1);
        recipe.Network.to(ScalarType.Float64);
        return recipe;
    }

    /// <summary><paramref name="count"/> random 8×8 images in [−1, 1].</summary>
    private static Tensor Images(int count) =>
        torch.rand([count, 1, 8, 8], dtype: ScalarType.Float64, generator: new torch.Generator(7)).mul(2).sub(1);

    [Fact]
    public void NegativeElboIsTheBernoulliNllOfOneDrawPlusTheClosedFormKl()
    {
        using var recipe = NewVae();
        using var scope = NewDisposeScope();
        var images = Images(3);

        using var noise = new torch.Generator(5);
        var measured = recipe.NegativeElboPerImage(images, noise).data<double>().ToArray();

        // The same draw, the terms written out: BCE with logits l and targets t in [0, 1] is
        // max(l, 0) − l·t + log(1 + e^−|l|); KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ (μ² + σ² − 1 − log σ²).
        var network = recipe.Network;
        network.eval();
        using var noGrad = torch.no_grad();
        var (mean, logVariance) = network.Encode(images);
        var epsilon = torch.randn([3, mean.shape[1]], generator: new torch.Generator(5)).to(ScalarType.Float64);
        var logits = network.Decode(mean + (logVariance * 0.5).exp() * epsilon).flatten(1);
        var targets = images.add(1).div(2).flatten(1);
        for (var i = 0; i < 3; i++)
        {
            double nll = 0;
            for (var p = 0; p < 64; p++)
            {
                var l = logits[i, p].item<double>();
                var t = targets[i, p].item<double>();
                nll += Math.Max(l, 0) - l * t + Math.Log(1 + Math.Exp(-Math.Abs(l)));
            }
            double kl = 0;
            for (var j = 0; j < mean.shape[1]; j++)
            {
                var (m, v) = (mean[i, j].item<double>(), logVariance[i, j].item<double>());
                kl += 0.5 * (m * m + Math.Exp(v) - 1 - v);
            }
            Assert.True(kl > 0, $"image {i}: KL {kl} of an untrained encoder should be positive");
            Assert.Equal(nll + kl, measured[i], 1e-9 * (nll + kl));
        }
    }

    [Fact]
    public void TheBoundDrawsFromTheGivenStream()
    {
        using var recipe = NewVae();
        using var scope = NewDisposeScope();
        var images = Images(4);

        using var a = new torch.Generator(5);
        using var b = new torch.Generator(5);
        using var c = new torch.Generator(6);
        var first = recipe.NegativeElboPerImage(images, a).data<double>().ToArray();
        Assert.Equal(first, recipe.NegativeElboPerImage(images, b).data<double>().ToArray());
        Assert.NotEqual(first, recipe.NegativeElboPerImage(images, c).data<double>().ToArray());
    }
}
