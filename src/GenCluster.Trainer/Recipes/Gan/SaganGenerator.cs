using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// SAGAN's generator (Zhang et al. 2018) at 28×28: DCGAN's fractionally-strided convolutions with spectral norm on
/// every layer (SAGAN applies it to G too), BatchNorm, and a self-attention block at 7×7 or 14×14.
/// </summary>
public sealed class SaganGenerator : Module<Tensor, Tensor, Tensor>
{
    private readonly SNConvTranspose2d deconv1;
    private readonly BatchNorm2d bn1;
    private readonly SNConvTranspose2d deconv2;
    private readonly BatchNorm2d bn2;
    private readonly SNConvTranspose2d deconv3;
    private readonly BatchNorm2d bn3;
    private readonly SelfAttention attention;
    private readonly SNConvTranspose2d deconv4;
    private readonly int _attentionAt;

    /// <summary>Creates G with attention after the layer whose output is <paramref name="attentionResolution"/> pixels wide (7 or 14).</summary>
    public SaganGenerator(int latentDim, int width, int channels, int attentionResolution) : base(nameof(SaganGenerator))
    {
        if (attentionResolution is not (7 or 14))
            throw new ArgumentOutOfRangeException(nameof(attentionResolution), attentionResolution, "model.attentionResolution must be 7 or 14");
        LatentDim = latentDim;
        _attentionAt = attentionResolution;
        deconv1 = new SNConvTranspose2d(latentDim, 4 * width, 4, stride: 1, padding: 0, hasBias: false);
        bn1 = BatchNorm2d(4 * width);
        deconv2 = new SNConvTranspose2d(4 * width, 2 * width, 3, stride: 2, padding: 1, hasBias: false);
        bn2 = BatchNorm2d(2 * width);
        deconv3 = new SNConvTranspose2d(2 * width, width, 4, stride: 2, padding: 1, hasBias: false);
        bn3 = BatchNorm2d(width);
        attention = new SelfAttention(attentionResolution == 7 ? 2 * width : width);
        deconv4 = new SNConvTranspose2d(width, channels, 4, stride: 2, padding: 1, hasBias: false);
        RegisterComponents();
    }

    /// <summary>Size of the latent vector.</summary>
    public int LatentDim { get; }

    /// <summary>Maps latents [N, LatentDim] to images [N, C, 28, 28] in [−1, 1].</summary>
    public override Tensor forward(Tensor z, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = z.view(z.shape[0], LatentDim, 1, 1);
        x = functional.relu(CrossReplicaBatchNorm.Forward(bn1, deconv1.call(x)));
        x = functional.relu(CrossReplicaBatchNorm.Forward(bn2, deconv2.call(x)));
        if (_attentionAt == 7) x = attention.call(x);
        x = functional.relu(CrossReplicaBatchNorm.Forward(bn3, deconv3.call(x)));
        if (_attentionAt == 14) x = attention.call(x);
        return scope.MoveToOuter(torch.tanh(deconv4.call(x)));
    }
}
