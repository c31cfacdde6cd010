using static TorchSharp.torch;

namespace GenCluster.Trainer.Objectives;

/// <summary>
/// Wasserstein GAN critic loss (Arjovsky et al. 2017): L_D = E[D(G(z))] − E[D(x)], L_G = −E[D(G(z))].
/// </summary>
/// <remarks>The Lipschitz constraint is not part of the loss: the <c>wgan</c> recipe clips the critic's weights, <c>wgan-gp</c> adds <see cref="GradientPenaltyObjective"/>.</remarks>
public sealed class WassersteinObjective : IGanObjective
{
    /// <summary>Config name.</summary>
    public const string Key = "wasserstein";

    /// <inheritdoc />
    public string Name => Key;

    /// <inheritdoc />
    public Tensor DiscriminatorLoss(CriticBatch batch, Action<string, Tensor>? report = null)
    {
        using var fake = batch.FakeLogits.mean();
        using var real = batch.RealLogits.mean();
        return fake - real;
    }

    /// <inheritdoc />
    public Tensor GeneratorLoss(Tensor fakeLogits)
    {
        using var mean = fakeLogits.mean();
        return -mean;
    }
}
