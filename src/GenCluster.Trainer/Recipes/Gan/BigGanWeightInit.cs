using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// BigGAN's initialisation (Brock et al. 2018, §4: "we use Orthogonal Initialization"; the reference's
/// <c>init='ortho'</c>): every convolution, linear and embedding weight (spectrally normalised or not) orthogonal with
/// gain 1, biases 0; BatchNorm affine parameters keep their (1, 0) defaults and attention's γ its 0. Seeded: the same
/// seed gives the same network on every machine.
/// </summary>
public static class BigGanWeightInit
{
    /// <summary>Initialises every weight of <paramref name="model"/> in place, in module order.</summary>
    public static void Apply(nn.Module model, Generator? generator = null)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            (Tensor? weight, Tensor? bias) = module switch
            {
                Conv2d m => (m.weight, m.bias),
                Linear m => (m.weight, m.bias),
                Embedding m => (m.weight, null),
                SNConv2d m => (m.Weight, m.Bias),
                SNLinear m => (m.Weight, m.Bias),
                SNEmbedding m => (m.Weight, null),
                _ => (null, null),
            };
            if (weight is null) continue;
            SeededInit.Orthogonal(weight, 1.0, generator);
            if (bias is not null) nn.init.zeros_(bias);
        }
    }
}
