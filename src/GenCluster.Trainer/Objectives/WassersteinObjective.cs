using static TorchSharp.torch;

namespace GenCluster.Trainer.Objectives;

/// <summary>
/// Wasserstein GAN critic loss (Arjovsky et al. 2017): L_D = E[D(G(z))] − E[D(x)], L_G = −E[D(G(z))].
/// </summary>
/// <remarks>The Lipschitz constraint (clipping or a gradient penalty) is not part of the loss and is not applied here.</remarks>
public sealed class WassersteinObjective : IGanObjective
{
    /// <summary>Config name.</summary>
    public const string Key = "wasserstein";

    /// <inheritdoc />
    public string Name => Key;

    /// <inheritdoc />
    public Tensor DiscriminatorLoss(Tensor realLogits, Tensor fakeLogits)
    {
        using var fake = fakeLogits.mean();
        using var real = realLogits.mean();
        return fake - real;
    }

    /// <inheritdoc />
    public Tensor GeneratorLoss(Tensor fakeLogits)
    {
        using var mean = fakeLogits.mean();
        return -mean;
    }
}
