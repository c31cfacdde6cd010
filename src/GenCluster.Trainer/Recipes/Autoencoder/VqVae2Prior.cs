using GenCluster.Contracts.Models;
using GenCluster.Trainer.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Recipes.Autoencoder;

/// <summary>
/// VQ-VAE-2's autoregressive prior (stage 2): a gated PixelCNN over the top codes, and one over the bottom codes
/// conditioned on the top codes (embedded, convolved and upsampled to the bottom map's size, added to every gate).
/// Trained on the codes the frozen stage-1 model assigns to real images; sampled top first, then bottom.
/// </summary>
public sealed class VqVae2Prior : nn.Module
{
    private readonly GatedPixelCnn top;
    private readonly GatedPixelCnn bottom;
    private readonly Embedding condition_embed;
    private readonly Conv2d condition_conv1;
    private readonly Conv2d condition_conv2;
    private readonly Tensor trained_steps;

    /// <summary>Priors for codebooks of <c>codebookSize</c> codes with the options' width, depth and kernel.</summary>
    public VqVae2Prior(VqVae2Options o, long seed) : base("prior")
    {
        torch.manual_seed(seed + 2);
        top = new GatedPixelCnn("top", o.CodebookSize, o.PriorWidth, o.PriorLayers, o.PriorKernel);
        var bottomWidth = o.BottomPriorWidth > 0 ? o.BottomPriorWidth : o.PriorWidth;
        var bottomLayers = o.BottomPriorLayers > 0 ? o.BottomPriorLayers : o.PriorLayers;
        bottom = new GatedPixelCnn("bottom", o.CodebookSize, bottomWidth, bottomLayers, o.PriorKernel, conditionChannels: bottomWidth);
        condition_embed = Embedding(o.CodebookSize, bottomWidth);
        condition_conv1 = Conv2d(bottomWidth, bottomWidth, 3, padding: 1);
        condition_conv2 = Conv2d(bottomWidth, bottomWidth, 3, padding: 1);
        trained_steps = torch.zeros(1, ScalarType.Float64);
        RegisterComponents();
    }

    /// <summary>Prior steps trained (saved with the prior, so a checkpoint knows whether its prior was trained).</summary>
    public long TrainedSteps => (long)trained_steps.item<double>();

    /// <summary>Counts one trained step.</summary>
    public void CountStep()
    {
        using var noGrad = torch.no_grad();
        trained_steps.add_(1);
    }

    /// <summary>Negative log-likelihoods (nats per code, means) of top codes [N, h, w] and bottom codes [N, 2h, 2w].</summary>
    public (Tensor Top, Tensor Bottom) NegativeLogLikelihood(Tensor topCodes, Tensor bottomCodes) =>
        (top.NegativeLogLikelihood(topCodes), bottom.NegativeLogLikelihood(bottomCodes, Condition(topCodes, bottomCodes.shape[1], bottomCodes.shape[2])));

    /// <summary>
    /// Draws top codes of <paramref name="topShape"/> at <paramref name="temperature"/>, then bottom codes of
    /// <paramref name="bottomShape"/> given them at <paramref name="bottomTemperature"/>.
    /// </summary>
    public (Tensor Top, Tensor Bottom) Sample(int count, (int Height, int Width) topShape, (int Height, int Width) bottomShape, double temperature,
        double bottomTemperature, Generator generator)
    {
        using var noGrad = torch.no_grad();
        var topCodes = top.Sample(count, topShape.Height, topShape.Width, null, temperature, generator);
        var condition = Condition(topCodes, bottomShape.Height, bottomShape.Width);
        var bottomCodes = bottom.Sample(count, bottomShape.Height, bottomShape.Width, condition, bottomTemperature, generator);
        return (topCodes, bottomCodes);
    }

    /// <summary>The bottom prior's condition [N, C, H, W] from the top codes.</summary>
    private Tensor Condition(Tensor topCodes, long height, long width)
    {
        var h = condition_embed.call(topCodes).permute(0, 3, 1, 2);
        h = functional.relu(condition_conv1.call(h));
        h = functional.interpolate(h, size: [height, width], mode: InterpolationMode.Nearest);
        return functional.relu(condition_conv2.call(h));
    }
}
