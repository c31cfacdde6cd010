using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Objectives;

/// <summary>
/// Hinge loss (Lim &amp; Ye 2017; Miyato et al. 2018): L_D = E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))],
/// L_G = −E[D(G(z))].
/// </summary>
public sealed class HingeObjective : IGanObjective
{
    /// <summary>Config name.</summary>
    public const string Key = "hinge";

    /// <inheritdoc />
    public string Name => Key;

    /// <inheritdoc />
    public Tensor DiscriminatorLoss(CriticBatch batch, Action<string, Tensor>? report = null)
    {
        using var real = functional.relu(1 - batch.RealLogits).mean();
        using var fake = functional.relu(1 + batch.FakeLogits).mean();
        return real + fake;
    }

    /// <inheritdoc />
    public Tensor GeneratorLoss(Tensor fakeLogits)
    {
        using var mean = fakeLogits.mean();
        return -mean;
    }
}
