using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Objectives;

/// <summary>
/// The original GAN loss with the non-saturating generator (Goodfellow et al. 2014), DCGAN's default:
/// L_D = −log σ(D(x)) − log(1 − σ(D(G(z)))), L_G = −log σ(D(G(z))), written with softplus for stability.
/// </summary>
public sealed class NonSaturatingObjective : IGanObjective
{
    /// <summary>Config name.</summary>
    public const string Key = "non-saturating";

    /// <inheritdoc />
    public string Name => Key;

    /// <inheritdoc />
    public Tensor DiscriminatorLoss(Tensor realLogits, Tensor fakeLogits)
    {
        using var real = functional.softplus(-realLogits).mean();
        using var fake = functional.softplus(fakeLogits).mean();
        return real + fake;
    }

    /// <inheritdoc />
    public Tensor GeneratorLoss(Tensor fakeLogits) => functional.softplus(-fakeLogits).mean();
}
