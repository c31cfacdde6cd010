using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Models;

/// <summary>
/// DCGAN initialisation (Radford et al. 2015, §4): convolution weights from N(0, 0.02); BatchNorm scale from
/// N(1, 0.02) and shift 0.
/// </summary>
public static class DcganWeightInit
{
    private const double Std = 0.02;

    /// <summary>Initialises every convolution, transposed convolution and BatchNorm in <paramref name="model"/> in place.</summary>
    /// <param name="model">The model.</param>
    /// <param name="generator">Random source; null = torch's default generator.</param>
    public static void Apply(nn.Module model, Generator? generator = null)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    nn.init.normal_(conv.weight, 0, Std, generator);
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                    break;
                case ConvTranspose2d deconv:
                    nn.init.normal_(deconv.weight, 0, Std, generator);
                    if (deconv.bias is not null) nn.init.zeros_(deconv.bias);
                    break;
                case BatchNorm2d bn:
                    nn.init.normal_(bn.weight, 1, Std, generator);
                    nn.init.zeros_(bn.bias);
                    break;
            }
        }
    }
}
