using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>
/// The original GAN's generator (Goodfellow et al. 2014) as a multilayer perceptron: z → h → 2h → C·H·W, LeakyReLU
/// between, tanh at the output. With <c>classes</c> &gt; 0 it is the conditional GAN's (Mirza &amp; Osindero 2014): as in
/// the paper, z and the one-hot label each get their own hidden layer, and the two are joined into the next one (so the
/// label reaches G with as much weight as z). BatchNorm on the wide hidden layer (as common MLP GAN implementations do)
/// keeps the generator from collapsing onto a few digits; without it the layers are batch-independent.
/// </summary>
public sealed class MlpGenerator : Module<Tensor, Tensor, Tensor>
{
    private const double Slope = 0.2;

    private readonly Linear fc1;
    private readonly Module<Tensor, Tensor> label1;
    private readonly Linear fc2;
    private readonly Module<Tensor, Tensor> bn2;
    private readonly Linear fc3;
    private readonly long[] _imageShape;
    private readonly int _classes;

    /// <summary>Creates G for latents of <paramref name="latentDim"/>, <paramref name="hidden"/> units and images [C, H, W].</summary>
    public MlpGenerator(int latentDim, int hidden, int channels, int height, int width, int classes = 0, bool batchNorm = true) : base(nameof(MlpGenerator))
    {
        _imageShape = [channels, height, width];
        _classes = classes;
        fc1 = Linear(latentDim, hidden);
        label1 = classes > 0 ? Linear(classes, hidden) : Identity();
        fc2 = Linear(classes > 0 ? 2 * hidden : hidden, 2 * hidden);
        bn2 = batchNorm ? BatchNorm1d(2 * hidden) : Identity();
        fc3 = Linear(2 * hidden, channels * height * width);
        RegisterComponents();
    }

    /// <summary>Maps latents [N, z] (and labels [N] when conditional) to images [N, C, H, W] in [−1, 1].</summary>
    public override Tensor forward(Tensor z, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = functional.leaky_relu(fc1.call(z), Slope);
        if (_classes > 0)
            x = torch.cat([x, functional.leaky_relu(label1.call(functional.one_hot(labels, _classes).to_type(z.dtype)), Slope)], 1);
        x = functional.leaky_relu(CrossReplicaBatchNorm.Forward(bn2, fc2.call(x)), Slope);
        return scope.MoveToOuter(torch.tanh(fc3.call(x)).view([z.shape[0], .. _imageShape]));
    }
}
