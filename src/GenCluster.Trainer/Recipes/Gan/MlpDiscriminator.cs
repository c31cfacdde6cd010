using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// The original GAN's discriminator as a multilayer perceptron: C·H·W → 2h → h → 1 logit, LeakyReLU 0.2. With
/// <c>classes</c> &gt; 0 the one-hot label is concatenated to the flattened image (conditional GAN).
/// </summary>
public sealed class MlpDiscriminator : Module<Tensor, Tensor, Tensor>
{
    private const double Slope = 0.2;

    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Linear fc3;
    private readonly int _classes;

    /// <summary>Creates D for images [C, H, W] with <paramref name="hidden"/> units.</summary>
    public MlpDiscriminator(int hidden, int channels, int height, int width, int classes = 0) : base(nameof(MlpDiscriminator))
    {
        _classes = classes;
        fc1 = Linear(channels * height * width + classes, 2 * hidden);
        fc2 = Linear(2 * hidden, hidden);
        fc3 = Linear(hidden, 1);
        RegisterComponents();
    }

    /// <summary>Maps images [N, C, H, W] (and labels [N] when conditional) to logits [N].</summary>
    public override Tensor forward(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = images.flatten(1);
        if (_classes > 0) x = torch.cat([x, functional.one_hot(labels, _classes).to_type(x.dtype)], 1);
        x = functional.leaky_relu(fc1.forward(x), Slope);
        x = functional.leaky_relu(fc2.forward(x), Slope);
        return scope.MoveToOuter(fc3.forward(x).view(-1));
    }
}
