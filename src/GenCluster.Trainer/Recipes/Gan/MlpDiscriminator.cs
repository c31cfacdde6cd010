using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// The original GAN's discriminator as a multilayer perceptron: C·H·W → 2h → h → 1 logit, LeakyReLU 0.2. With
/// <c>classes</c> &gt; 0 the label enters D as a learned class embedding projected onto D's last hidden features
/// (logit = w·φ(x) + ⟨embed(y), φ(x)⟩, Miyato &amp; Koyama 2018): a one-hot concatenated to 784 pixels is too weak a
/// signal for D to learn the classes within a short run, and projection is how later conditional GANs (BigGAN) feed it.
/// </summary>
public sealed class MlpDiscriminator : Module<Tensor, Tensor, Tensor>
{
    private const double Slope = 0.2;

    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Linear fc3;
    private readonly Module<Tensor, Tensor> embed;
    private readonly int _classes;

    /// <summary>Creates D for images [C, H, W] with <paramref name="hidden"/> units.</summary>
    public MlpDiscriminator(int hidden, int channels, int height, int width, int classes = 0) : base(nameof(MlpDiscriminator))
    {
        _classes = classes;
        fc1 = Linear(channels * height * width, 2 * hidden);
        fc2 = Linear(2 * hidden, hidden);
        fc3 = Linear(hidden, 1);
        embed = classes > 0 ? Embedding(classes, hidden) : Identity();
        RegisterComponents();
    }

    /// <summary>Maps images [N, C, H, W] (and labels [N] when conditional) to logits [N].</summary>
    public override Tensor forward(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = functional.leaky_relu(fc1.call(images.flatten(1)), Slope);
        var features = functional.leaky_relu(fc2.call(x), Slope);
        var logits = fc3.call(features).view(-1);
        if (_classes > 0) logits = logits + (embed.call(labels) * features).sum(1);
        return scope.MoveToOuter(logits);
    }
}
