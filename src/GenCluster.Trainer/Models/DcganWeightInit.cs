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

    // nn.init.normal_ in TorchSharp 0.107 draws from the default generator whatever generator it is given, so the
    // values are drawn with torch.randn (which honours it) and copied in.
    private static void Normal(Tensor target, double mean, Generator? generator)
    {
        using var values = torch.randn(target.shape, dtype: target.dtype, generator: generator);
        using var scaled = values.mul(Std).add_(mean);
        target.copy_(scaled);
    }

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
                    Normal(conv.weight, 0, generator);
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                    break;
                case ConvTranspose2d deconv:
                    Normal(deconv.weight, 0, generator);
                    if (deconv.bias is not null) nn.init.zeros_(deconv.bias);
                    break;
                case BatchNorm2d bn:
                    Normal(bn.weight, 1, generator);
                    nn.init.zeros_(bn.bias);
                    break;
            }
        }
    }
}
