using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// DCGAN generator (Radford et al. 2015) sized for 28×28: a latent vector is projected to 4×4 and upsampled by
/// fractionally-strided convolutions to 7×7, 14×14 and 28×28, with BatchNorm and ReLU between, tanh at the output.
/// </summary>
/// <remarks>Channels: 4w → 2w → w → C for base width w. Field names are the checkpoint keys. Labels are ignored (unconditional).</remarks>
public sealed class DcganGenerator : Module<Tensor, Tensor, Tensor>
{
    private readonly ConvTranspose2d deconv1;
    private readonly BatchNorm2d bn1;
    private readonly ConvTranspose2d deconv2;
    private readonly BatchNorm2d bn2;
    private readonly ConvTranspose2d deconv3;
    private readonly BatchNorm2d bn3;
    private readonly ConvTranspose2d deconv4;

    /// <summary>Creates the generator for latent size <paramref name="latentDim"/>, base width <paramref name="width"/> and <paramref name="channels"/> output channels.</summary>
    public DcganGenerator(int latentDim, int width, int channels = 1) : base(nameof(DcganGenerator))
    {
        LatentDim = latentDim;
        deconv1 = ConvTranspose2d(latentDim, 4 * width, kernel_size: 4, stride: 1, padding: 0, bias: false);
        bn1 = BatchNorm2d(4 * width);
        deconv2 = ConvTranspose2d(4 * width, 2 * width, kernel_size: 3, stride: 2, padding: 1, bias: false);
        bn2 = BatchNorm2d(2 * width);
        deconv3 = ConvTranspose2d(2 * width, width, kernel_size: 4, stride: 2, padding: 1, bias: false);
        bn3 = BatchNorm2d(width);
        deconv4 = ConvTranspose2d(width, channels, kernel_size: 4, stride: 2, padding: 1, bias: false);
        RegisterComponents();
    }

    /// <summary>Size of the latent vector the generator expects.</summary>
    public int LatentDim { get; }

    /// <summary>Maps latents [N, LatentDim] to images [N, C, 28, 28] in [−1, 1].</summary>
    public override Tensor forward(Tensor z, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = z.view(z.shape[0], LatentDim, 1, 1);
        x = functional.relu(CrossReplicaBatchNorm.Forward(bn1, deconv1.call(x)));
        x = functional.relu(CrossReplicaBatchNorm.Forward(bn2, deconv2.call(x)));
        x = functional.relu(CrossReplicaBatchNorm.Forward(bn3, deconv3.call(x)));
        return scope.MoveToOuter(torch.tanh(deconv4.call(x)));
    }
}
