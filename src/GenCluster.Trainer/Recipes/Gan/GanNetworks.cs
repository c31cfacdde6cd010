using GenCluster.Contracts.Models;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>A GAN's two networks — G: (z [N, LatentDim], labels [N]) → images; D: (images, labels) → logits [N] — and how to build another G (for the EMA copy).</summary>
/// <param name="Generator">G.</param>
/// <param name="Discriminator">D (the critic for Wasserstein kinds).</param>
/// <param name="NewGenerator">Builds a G of the same architecture (weights are copied in afterwards).</param>
/// <param name="LatentDim">z size.</param>
public sealed record GanNetworks(
    Module<Tensor, Tensor, Tensor> Generator,
    Module<Tensor, Tensor, Tensor> Discriminator,
    Func<Module<Tensor, Tensor, Tensor>> NewGenerator,
    int LatentDim)
{
    /// <summary>The networks of a GAN kind for images of <paramref name="setup"/>'s shape, initialised from its seed.</summary>
    /// <exception cref="ArgumentException">The kind cannot train on this data (size or labels); the message says why.</exception>
    public static GanNetworks For(GanOptions options, RecipeSetup setup)
    {
        var (c, h, w, z, width) = (setup.Channels, setup.Height, setup.Width, options.LatentDim, options.Width);
        if (options.Conditional && setup.Classes < 1)
            throw new ArgumentException($"model kind '{options.Kind}' is conditional and needs a labelled data set; this one has no labels", nameof(setup));
        if (options is BigGanOptions big) return BigGan(big, setup);
        var convolutional = options is not (MlpGanOptions or CganOptions);
        if (convolutional && (h, w) != (28, 28))
            throw new ArgumentException($"model kind '{options.Kind}' has networks sized for 28×28 images; the data set's are {h}×{w}", nameof(setup));

        Func<Module<Tensor, Tensor, Tensor>> g = options switch
        {
            MlpGanOptions or CganOptions => () => new MlpGenerator(z, width, c, h, w, options.Conditional ? setup.Classes : 0),
            SaganOptions sagan => () => new SaganGenerator(z, width, c, sagan.AttentionResolution),
            _ => () => new DcganGenerator(z, width, c),
        };
        Module<Tensor, Tensor, Tensor> d = options switch
        {
            MlpGanOptions or CganOptions => new MlpDiscriminator(width, c, h, w, options.Conditional ? setup.Classes : 0),
            WganGpOptions => new DcganDiscriminator(width, c, batchNorm: false),
            SnganOptions => new SnDiscriminator(width, c),
            SaganOptions sagan => new SaganDiscriminator(width, c, sagan.AttentionResolution),
            _ => new DcganDiscriminator(width, c),
        };
        var generator = g();
        using (var init = new torch.Generator((ulong)setup.Seed))
        {
            GanWeightInit.Apply(generator, init);
            GanWeightInit.Apply(d, init);
        }
        return new GanNetworks(generator, d, g, z);
    }

    private static GanNetworks BigGan(BigGanOptions options, RecipeSetup setup)
    {
        if (setup.Height != setup.Width)
            throw new ArgumentException($"model kind 'biggan' needs square images; the data set's are {setup.Height}×{setup.Width}", nameof(setup));
        var architecture = BigGanArchitecture.For(setup.Height, setup.Channels, options.Width, options.DBlocksAtBottom);
        BigGanGenerator NewGenerator(torch.Generator? init) => new(architecture, options.LatentDim, options.SharedDim,
            setup.Classes, setup.Channels, options.AttentionResolution, options.HierarchicalLatents, init);
        // One seeded stream for everything random at construction (spectral-norm u vectors too), then the weights.
        using var init = new torch.Generator((ulong)setup.Seed);
        var generator = NewGenerator(init);
        var d = new BigGanDiscriminator(architecture, setup.Classes, options.AttentionResolution, init);
        BigGanWeightInit.Apply(generator, init);
        BigGanWeightInit.Apply(d, init);
        return new GanNetworks(generator, d, () => NewGenerator(null), options.LatentDim);
    }
}
