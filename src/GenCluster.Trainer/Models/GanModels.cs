using GenCluster.Contracts.Jobs;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Models;

/// <summary>A generator and discriminator pair plus what the training loop needs to know about them.</summary>
/// <param name="Generator">Maps latents [N, LatentDim] to images.</param>
/// <param name="Discriminator">Maps images to logits [N].</param>
/// <param name="LatentDim">Latent vector size.</param>
public sealed record GanModels(nn.Module<Tensor, Tensor> Generator, nn.Module<Tensor, Tensor> Discriminator, int LatentDim) : IDisposable
{
    /// <summary>Builds the models a job spec names, initialised from <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">The spec names an unknown model.</exception>
    public static GanModels Create(JobSpec spec, long seed)
    {
        var options = spec.ModelOptions;
        switch (spec.Model)
        {
            case "dcgan":
                using (var init = new Generator((ulong)seed))
                {
                    var g = new DcganGenerator(options.LatentDim, options.Width);
                    var d = new DcganDiscriminator(options.Width);
                    DcganWeightInit.Apply(g, init);
                    DcganWeightInit.Apply(d, init);
                    return new GanModels(g, d, options.LatentDim);
                }
            default:
                throw new ArgumentException($"JobSpec.Model '{spec.Model}' is not supported; expected 'dcgan'", nameof(spec));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Generator.Dispose();
        Discriminator.Dispose();
    }
}
