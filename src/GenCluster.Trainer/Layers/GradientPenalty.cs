using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// The WGAN-GP gradient penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1):
/// E[(‖∇_x̂ D(x̂)‖₂ − 1)²] at x̂ = ε·real + (1−ε)·fake, a soft form of the 1-Lipschitz constraint on the critic.
/// The caller multiplies by λ (10 in the paper) and adds it to the critic loss.
/// </summary>
/// <remarks>
/// The gradient is taken with create_graph (and retain_graph, which TorchSharp needs alongside it), so the penalty
/// is differentiable with respect to the critic's parameters (double backward). fake is detached: the penalty
/// trains only the critic. ε is supplied by the caller (drawn from U(0,1) with its own generator) so the step is
/// reproducible; its shape is [N] followed by ones, broadcasting over each sample ([N,1,1,1] for images, [N,1] for flat inputs).
/// </remarks>
public static class GradientPenalty
{
    /// <summary>The penalty mean over the batch of (‖∇_x̂ D(x̂)‖₂ − 1)², a scalar with a graph back to the critic's parameters.</summary>
    /// <param name="critic">The critic D; maps a batch [N, ...] to scores whose sum is differentiated (any shape, usually [N] or [N,1]).</param>
    /// <param name="real">Real samples [N, ...].</param>
    /// <param name="fake">Generated samples, same shape as <paramref name="real"/>; detached here.</param>
    /// <param name="epsilon">Interpolation weights in [0, 1], shape [N, 1, ..., 1] (or [N]) broadcasting against the samples.</param>
    public static Tensor Compute(Func<Tensor, Tensor> critic, Tensor real, Tensor fake, Tensor epsilon)
    {
        using var scope = torch.NewDisposeScope();
        var norms = GradientNorms(critic, real, fake, epsilon);
        return scope.MoveToOuter(norms.sub(1.0).square().mean());
    }

    /// <summary>
    /// The per-sample gradient norms ‖∇_x̂ D(x̂)‖₂ [N] (the L2 norm over all non-batch dimensions), with a graph back to
    /// the critic's parameters; detach them for metrics.
    /// </summary>
    /// <param name="critic">The critic D.</param>
    /// <param name="real">Real samples [N, ...].</param>
    /// <param name="fake">Generated samples, same shape as <paramref name="real"/>; detached here.</param>
    /// <param name="epsilon">Interpolation weights, shape [N, 1, ..., 1] (or [N]).</param>
    public static Tensor GradientNorms(Func<Tensor, Tensor> critic, Tensor real, Tensor fake, Tensor epsilon)
    {
        ArgumentNullException.ThrowIfNull(critic);
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(fake);
        ArgumentNullException.ThrowIfNull(epsilon);
        if (!real.shape.SequenceEqual(fake.shape))
            throw new ArgumentException($"real [{string.Join(", ", real.shape)}] and fake [{string.Join(", ", fake.shape)}] must have the same shape.", nameof(fake));
        if (real.dim() < 1 || epsilon.dim() < 1 || epsilon.dim() > real.dim() || epsilon.shape[0] != real.shape[0] || epsilon.shape.Skip(1).Any(d => d != 1))
            throw new ArgumentException(
                $"epsilon [{string.Join(", ", epsilon.shape)}] must be [N] followed by ones, N = {(real.dim() > 0 ? real.shape[0] : 0)}, with at most {real.dim()} dimensions.", nameof(epsilon));

        using var scope = torch.NewDisposeScope();
        var eps = epsilon.reshape([.. epsilon.shape, .. Enumerable.Repeat(1L, (int)(real.dim() - epsilon.dim()))]);
        var interpolated = eps.mul(real.detach()).add(eps.neg().add(1.0).mul(fake.detach())).detach().requires_grad_(true);
        var scores = critic(interpolated);
        var gradient = torch.autograd.grad([scores.sum()], [interpolated], create_graph: true, retain_graph: true)[0];
        var norms = torch.linalg.vector_norm(gradient.reshape(gradient.shape[0], -1), dims: [1]);
        return scope.MoveToOuter(norms);
    }
}
