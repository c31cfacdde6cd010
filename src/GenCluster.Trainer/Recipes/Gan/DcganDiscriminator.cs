using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// DCGAN discriminator (Radford et al. 2015) for 28×28: strided convolutions 28→14→7→4, LeakyReLU 0.2, BatchNorm on
/// every layer but the first, and a final 4×4 convolution to one logit per image. Without BatchNorm it is WGAN-GP's
/// critic (Gulrajani et al. 2017 drop it: the penalty is per image, batch coupling breaks it).
/// </summary>
/// <remarks>Channels: C → w → 2w → 4w → 1 for base width w. Field names are the checkpoint keys. Labels are ignored.</remarks>
public sealed class DcganDiscriminator : Module<Tensor, Tensor, Tensor>
{
    private const double Slope = 0.2;

    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly Module<Tensor, Tensor> bn2;
    private readonly Conv2d conv3;
    private readonly Module<Tensor, Tensor> bn3;
    private readonly Conv2d conv4;

    /// <summary>Creates the discriminator with base width <paramref name="width"/>; <paramref name="batchNorm"/> false leaves BatchNorm out.</summary>
    public DcganDiscriminator(int width, int channels = 1, bool batchNorm = true) : base(nameof(DcganDiscriminator))
    {
        conv1 = Conv2d(channels, width, kernel_size: 4, stride: 2, padding: 1, bias: false);
        conv2 = Conv2d(width, 2 * width, kernel_size: 4, stride: 2, padding: 1, bias: !batchNorm);
        bn2 = batchNorm ? BatchNorm2d(2 * width) : Identity();
        conv3 = Conv2d(2 * width, 4 * width, kernel_size: 3, stride: 2, padding: 1, bias: !batchNorm);
        bn3 = batchNorm ? BatchNorm2d(4 * width) : Identity();
        conv4 = Conv2d(4 * width, 1, kernel_size: 4, stride: 1, bias: false);
        RegisterComponents();
    }

    /// <summary>Maps images [N, C, 28, 28] to logits [N].</summary>
    public override Tensor forward(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = functional.leaky_relu(conv1.call(images), Slope);
        x = functional.leaky_relu(CrossReplicaBatchNorm.Forward(bn2, conv2.call(x)), Slope);
        x = functional.leaky_relu(CrossReplicaBatchNorm.Forward(bn3, conv3.call(x)), Slope);
        return scope.MoveToOuter(conv4.call(x).view(-1));
    }
}
