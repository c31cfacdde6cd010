using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Models;

/// <summary>
/// DCGAN discriminator (Radford et al. 2015) for 28×28: strided convolutions 28→14→7→4, LeakyReLU 0.2, BatchNorm on
/// every layer but the first, and a final 4×4 convolution to one logit per image.
/// </summary>
/// <remarks>Channels: 1 → w → 2w → 4w → 1 for base width w. Field names are the checkpoint keys.</remarks>
public sealed class DcganDiscriminator : Module<Tensor, Tensor>
{
    private const double Slope = 0.2;

    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly Conv2d conv4;

    /// <summary>Creates the discriminator with base width <paramref name="width"/>.</summary>
    public DcganDiscriminator(int width) : base(nameof(DcganDiscriminator))
    {
        conv1 = Conv2d(1, width, kernel_size: 4, stride: 2, padding: 1, bias: false);
        conv2 = Conv2d(width, 2 * width, kernel_size: 4, stride: 2, padding: 1, bias: false);
        bn2 = BatchNorm2d(2 * width);
        conv3 = Conv2d(2 * width, 4 * width, kernel_size: 3, stride: 2, padding: 1, bias: false);
        bn3 = BatchNorm2d(4 * width);
        conv4 = Conv2d(4 * width, 1, kernel_size: 4, stride: 1, bias: false);
        RegisterComponents();
    }

    /// <summary>Maps images [N, 1, 28, 28] to logits [N].</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = functional.leaky_relu(conv1.forward(images), Slope);
        x = functional.leaky_relu(bn2.forward(conv2.forward(x)), Slope);
        x = functional.leaky_relu(bn3.forward(conv3.forward(x)), Slope);
        return scope.MoveToOuter(conv4.forward(x).view(-1));
    }
}
