using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// SNGAN's discriminator (Miyato et al. 2018) for 28×28: DCGAN's strided convolutions with spectral normalisation on
/// every layer instead of BatchNorm, LeakyReLU 0.1 as in the paper's CNN. No batch coupling.
/// </summary>
public sealed class SnDiscriminator : Module<Tensor, Tensor, Tensor>
{
    private const double Slope = 0.1;

    private readonly SNConv2d conv1;
    private readonly SNConv2d conv2;
    private readonly SNConv2d conv3;
    private readonly SNConv2d conv4;

    /// <summary>Creates D with base width <paramref name="width"/> for <paramref name="channels"/>-channel images.</summary>
    public SnDiscriminator(int width, int channels = 1) : base(nameof(SnDiscriminator))
    {
        conv1 = new SNConv2d(channels, width, 4, stride: 2, padding: 1);
        conv2 = new SNConv2d(width, 2 * width, 4, stride: 2, padding: 1);
        conv3 = new SNConv2d(2 * width, 4 * width, 3, stride: 2, padding: 1);
        conv4 = new SNConv2d(4 * width, 1, 4);
        RegisterComponents();
    }

    /// <summary>Maps images [N, C, 28, 28] to logits [N].</summary>
    public override Tensor forward(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = functional.leaky_relu(conv1.call(images), Slope);
        x = functional.leaky_relu(conv2.call(x), Slope);
        x = functional.leaky_relu(conv3.call(x), Slope);
        return scope.MoveToOuter(conv4.call(x).view(-1));
    }
}
