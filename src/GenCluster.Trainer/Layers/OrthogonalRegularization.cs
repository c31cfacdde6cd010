using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// BigGAN's off-diagonal orthogonal regularisation (Brock et al. 2018, §3.1, eq. 3), as the reference implements it
/// (<c>utils.ortho</c>): each weight W with at least two axes is viewed as [out, rest] and its rows are pushed towards
/// mutual orthogonality without constraining their norms, through the off-diagonal part of the row Gram matrix
/// O = W Wᵀ ⊙ (1 − I) ([out, out]). The reference adds β·2·O·W to each gradient.
/// </summary>
/// <remarks>
/// The paper writes β‖WᵀW ⊙ (1 − I)‖²_F; the reference uses the row product W Wᵀ, which is followed here. Its update
/// 2·O·W is the exact gradient of ½‖O‖²_F (the gradient of ‖O‖²_F is 4·O·W), so <see cref="Penalty"/> is defined as
/// (β/2)·Σ‖O‖²_F: its autograd gradient equals <see cref="Apply"/>'s update, and β means what the reference's
/// <c>G_ortho</c>/<c>D_ortho</c> strength means (BigGAN: 1e-4 for G). The paper's R_β with the same β is twice
/// <see cref="Penalty"/>. As in the reference, parameters with fewer than two axes (biases, gains, γ) are skipped; the
/// caller leaves out what the reference blacklists (BigGAN's G passes all but its shared class embedding, selected by
/// name: TorchSharp may hand out different wrapper objects for one module parameter, so identity is not a safe test). The regularised tensor is the raw
/// parameter, before any spectral normalisation.
/// </remarks>
public static class OrthogonalRegularization
{
    /// <summary>(β/2)·Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F over the regularised weights, differentiable; a scalar.</summary>
    /// <param name="weights">Candidate parameters (e.g. <c>module.parameters()</c>); those with fewer than two axes are skipped.</param>
    /// <param name="beta">The strength β (the reference's <c>strength</c>); ≥ 0.</param>
    /// <returns>A scalar tensor (float64 zero when no weight qualifies).</returns>
    public static Tensor Penalty(IEnumerable<Parameter> weights, double beta)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(beta);
        using var scope = torch.NewDisposeScope();
        Tensor? total = null;
        foreach (var p in Regularised(weights))
        {
            var w = p.reshape(p.shape[0], -1);
            var offDiagonal = OffDiagonalGram(w);
            var term = offDiagonal.square().sum();
            total = total is null ? term : total.add(term);
        }
        var result = total is null ? torch.zeros([], dtype: ScalarType.Float64) : total.mul(beta / 2);
        return scope.MoveToOuter(result);
    }

    /// <summary>
    /// Adds β·2·(W Wᵀ ⊙ (1 − I))·W to each regularised parameter's gradient in place, under no_grad — the reference's
    /// <c>ortho</c>, the gradient of <see cref="Penalty"/>. A parameter without a gradient gets this term as its gradient.
    /// </summary>
    /// <param name="weights">Candidate parameters; those with fewer than two axes are skipped.</param>
    /// <param name="beta">The strength β; ≥ 0.</param>
    public static void Apply(IEnumerable<Parameter> weights, double beta)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(beta);
        using var noGrad = torch.no_grad();
        foreach (var p in Regularised(weights))
        {
            using var scope = torch.NewDisposeScope();
            var w = p.detach().reshape(p.shape[0], -1);
            var update = OffDiagonalGram(w).matmul(w).mul(2 * beta).reshape(p.shape);
            var grad = p.grad;
            if (grad is null)
            {
                p.grad = update;
                continue;
            }
            using (grad) grad.add_(update);
        }
    }

    /// <summary>W Wᵀ with its diagonal zeroed: [out, out].</summary>
    private static Tensor OffDiagonalGram(Tensor w)
    {
        var gram = w.matmul(w.t());
        using var eye = torch.eye(w.shape[0], dtype: w.dtype, device: w.device);
        return gram.mul(eye.neg().add(1.0));
    }

    private static IEnumerable<Parameter> Regularised(IEnumerable<Parameter> weights) => weights.Where(p => p.dim() >= 2);
}
