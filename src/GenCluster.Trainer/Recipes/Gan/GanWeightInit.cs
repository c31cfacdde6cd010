using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// DCGAN initialisation (Radford et al. 2015, §4), used for every GAN kind: convolution, transposed-convolution and
/// linear weights from N(0, 0.02) (spectrally normalised layers too: the normalisation removes their scale), biases 0,
/// BatchNorm scale from N(1, 0.02) and shift 0. Seeded: the same seed gives the same network on every machine.
/// </summary>
public static class GanWeightInit
{
    private const double Std = 0.02;

    /// <summary>Initialises every supported layer in <paramref name="model"/> in place.</summary>
    /// <param name="model">The model.</param>
    /// <param name="generator">Random source; null = torch's default generator.</param>
    public static void Apply(nn.Module model, Generator? generator = null)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            (Tensor? weight, Tensor? bias) = module switch
            {
                Conv2d m => (m.weight, m.bias),
                ConvTranspose2d m => (m.weight, m.bias),
                Linear m => (m.weight, m.bias),
                SNConv2d m => (m.Weight, m.Bias),
                SNConvTranspose2d m => (m.Weight, m.Bias),
                SNLinear m => (m.Weight, m.Bias),
                _ => (null, null),
            };
            if (weight is not null)
            {
                SeededInit.Normal(weight, 0, Std, generator);
                if (bias is not null) nn.init.zeros_(bias);
                continue;
            }
            switch (module)
            {
                case BatchNorm bn:
                    SeededInit.Normal(bn.weight!, 1, Std, generator);
                    nn.init.zeros_(bn.bias!);
                    break;
                case Embedding embedding:
                    SeededInit.Normal(embedding.weight!, 0, Std, generator);
                    break;
            }
        }
    }
}
