using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Objectives;

/// <summary>
/// The original GAN loss with the non-saturating generator (Goodfellow et al. 2014), DCGAN's default:
/// L_D = −t·log σ(D(x)) − (1 − t)·log(1 − σ(D(x))) − log(1 − σ(D(G(z)))), L_G = −log σ(D(G(z))), written with softplus.
/// The real target t is 1, or 1 − s with one-sided label smoothing s (Salimans et al. 2016); fakes keep target 0.
/// </summary>
public sealed class NonSaturatingObjective(double labelSmoothing = 0) : IGanObjective
{
    /// <summary>Config name.</summary>
    public const string Key = "non-saturating";

    /// <inheritdoc />
    public string Name => Key;

    /// <summary>One-sided label smoothing s: D's target for real images is 1 − s.</summary>
    public double LabelSmoothing { get; } = labelSmoothing;

    /// <inheritdoc />
    public Tensor DiscriminatorLoss(CriticBatch batch, Action<string, Tensor>? report = null) =>
        DiscriminatorLoss(batch.RealLogits, batch.FakeLogits);

    /// <summary>The loss from logits alone.</summary>
    public Tensor DiscriminatorLoss(Tensor realLogits, Tensor fakeLogits)
    {
        using var realTerm = LabelSmoothing == 0
            ? functional.softplus(-realLogits)
            : functional.softplus(-realLogits).mul_(1 - LabelSmoothing).add_(functional.softplus(realLogits).mul_(LabelSmoothing));
        using var real = realTerm.mean();
        using var fake = functional.softplus(fakeLogits).mean();
        return real + fake;
    }

    /// <inheritdoc />
    public Tensor GeneratorLoss(Tensor fakeLogits) => functional.softplus(-fakeLogits).mean();
}
