using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// SAGAN's discriminator (Zhang et al. 2018) at 28×28: spectrally normalised strided convolutions, LeakyReLU 0.1, and a
/// self-attention block on the 14×14 or 7×7 feature map.
/// </summary>
public sealed class SaganDiscriminator : Module<Tensor, Tensor, Tensor>
{
    private const double Slope = 0.1;

    private readonly SNConv2d conv1;
    private readonly SNConv2d conv2;
    private readonly SelfAttention attention;
    private readonly SNConv2d conv3;
    private readonly SNConv2d conv4;
    private readonly int _attentionAt;

    /// <summary>Creates D with attention on the <paramref name="attentionResolution"/>-pixel feature map (7 or 14).</summary>
    public SaganDiscriminator(int width, int channels, int attentionResolution) : base(nameof(SaganDiscriminator))
    {
        if (attentionResolution is not (7 or 14))
            throw new ArgumentOutOfRangeException(nameof(attentionResolution), attentionResolution, "model.attentionResolution must be 7 or 14");
        _attentionAt = attentionResolution;
        conv1 = new SNConv2d(channels, width, 4, stride: 2, padding: 1);
        conv2 = new SNConv2d(width, 2 * width, 4, stride: 2, padding: 1);
        attention = new SelfAttention(attentionResolution == 14 ? width : 2 * width);
        conv3 = new SNConv2d(2 * width, 4 * width, 3, stride: 2, padding: 1);
        conv4 = new SNConv2d(4 * width, 1, 4);
        RegisterComponents();
    }

    /// <summary>Maps images [N, C, 28, 28] to logits [N].</summary>
    public override Tensor forward(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = functional.leaky_relu(conv1.call(images), Slope);
        if (_attentionAt == 14) x = attention.call(x);
        x = functional.leaky_relu(conv2.call(x), Slope);
        if (_attentionAt == 7) x = attention.call(x);
        x = functional.leaky_relu(conv3.call(x), Slope);
        return scope.MoveToOuter(conv4.call(x).view(-1));
    }
}
