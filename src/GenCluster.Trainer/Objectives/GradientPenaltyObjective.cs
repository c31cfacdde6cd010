using GenCluster.Trainer.Layers;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Objectives;

/// <summary>
/// WGAN-GP's critic loss (Gulrajani et al. 2017): the inner objective plus λ·E[(‖∇_x̂ D(x̂)‖₂ − 1)²] on
/// x̂ = ε·x + (1 − ε)·G(z), ε ~ U(0, 1) per image. Reports the penalty (without λ) as <c>gp</c>.
/// </summary>
public sealed class GradientPenaltyObjective(IGanObjective inner, double lambda) : IGanObjective
{
    /// <summary>Metric name of the penalty.</summary>
    public const string PenaltyMetric = "gp";

    /// <inheritdoc />
    public string Name => inner.Name;

    /// <summary>Penalty weight λ.</summary>
    public double Lambda { get; } = lambda;

    /// <inheritdoc />
    public Tensor DiscriminatorLoss(CriticBatch batch, Action<string, Tensor>? report = null)
    {
        using var loss = inner.DiscriminatorLoss(batch, report);
        using var drawn = batch.Epsilon();
        var shape = Enumerable.Repeat(1L, (int)batch.Real.dim()).ToArray();
        shape[0] = -1;
        using var epsilon = drawn.view(shape);
        using var penalty = GradientPenalty.Compute(batch.Critic, batch.Real, batch.Fake, epsilon);
        report?.Invoke(PenaltyMetric, penalty);
        return loss + penalty * Lambda;
    }

    /// <inheritdoc />
    public Tensor GeneratorLoss(Tensor fakeLogits) => inner.GeneratorLoss(fakeLogits);
}
