using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// The power-iteration mathematics of spectral normalisation (Miyato et al. 2018, "Spectral Normalization for
/// Generative Adversarial Networks", Algorithm 1), shared by <see cref="SNLinear"/>, <see cref="SNConv2d"/>,
/// <see cref="SNConvTranspose2d"/> and <see cref="SNEmbedding"/>. It follows <c>torch.nn.utils.spectral_norm</c>:
/// the weight is viewed as a matrix W of shape [rows = size(dim), rest], a persistent vector u (length rows)
/// estimates the first left singular vector, and the layer uses W/σ with σ = uᵀWv.
/// </summary>
/// <remarks>
/// PyTorch also stores v; here only u is stored (checkpoint key <c>u</c>) and, outside training, v = normalize(Wᵀu) is
/// recomputed from it, so the state is entirely determined by the checkpoint. Training-mode forwards match PyTorch
/// exactly; eval-mode σ is ‖Wᵀu‖ where PyTorch's is uᵀWv with its stored v (both converge to σ₁).
/// </remarks>
internal static class SpectralNormMath
{
    /// <summary>The ε that <c>torch.nn.functional.normalize</c> and <c>spectral_norm</c> use against division by zero.</summary>
    internal const double Eps = 1e-12;

    /// <summary>A fresh u: standard normal of length <paramref name="rows"/>, L2-normalised, as <c>spectral_norm</c> initialises it.</summary>
    internal static Tensor InitialU(long rows, ScalarType dtype, Generator? generator)
    {
        using var scope = torch.NewDisposeScope();
        var u = Normalise(torch.randn([rows], dtype: dtype, generator: generator));
        return scope.MoveToOuter(u);
    }

    /// <summary>
    /// W as a matrix [size(dim), numel/size(dim)]: the axis <paramref name="dim"/> is moved to the front and the
    /// rest flattened, as <c>SpectralNorm.reshape_weight_to_matrix</c>. Keeps the autograd link to the weight.
    /// </summary>
    internal static Tensor WeightMatrix(Tensor weight, long dim)
    {
        if (dim != 0)
        {
            var order = new long[weight.dim()];
            order[0] = dim;
            for (long d = 0, k = 1; d < weight.dim(); d++)
                if (d != dim) order[k++] = d;
            weight = weight.permute(order);
        }
        return weight.reshape(weight.shape[0], -1);
    }

    /// <summary>
    /// The spectrally normalised weight W/σ for a layer's forward pass, differentiable with respect to the weight.
    /// In training mode <paramref name="iterations"/> power iterations v = normalize(Wᵀu), u = normalize(Wv) run
    /// under no_grad and update the buffer <paramref name="u"/> in place, and v is the last iteration's (exactly as
    /// PyTorch); in eval mode u is left unchanged and v = normalize(Wᵀu). σ = uᵀWv is then computed with gradient
    /// through W only (u and v are constants), as in PyTorch; in eval mode this σ equals ‖Wᵀu‖ and its gradient uvᵀ
    /// is the exact derivative of ‖Wᵀu‖ (v maximises uᵀWv over unit vectors).
    /// </summary>
    /// <param name="weight">The raw weight parameter.</param>
    /// <param name="u">The persistent left-singular-vector estimate, updated in place in training mode.</param>
    /// <param name="dim">The weight axis that becomes the matrix rows (1 for transposed convolutions, else 0).</param>
    /// <param name="training">Whether the owning module is in training mode.</param>
    /// <param name="iterations">Power iterations per training-mode call (≥ 1 in training mode).</param>
    internal static Tensor NormalisedWeight(Tensor weight, Tensor u, long dim, bool training, int iterations)
    {
        using var scope = torch.NewDisposeScope();
        var matrix = WeightMatrix(weight, dim);
        Tensor uConst;
        Tensor? vConst = null;
        using (torch.no_grad())
        {
            var w = matrix.detach();
            if (training)
            {
                for (var i = 0; i < iterations; i++)
                {
                    vConst = Normalise(w.t().mv(u));
                    u.copy_(Normalise(w.mv(vConst)));
                }
            }
            // A clone: σ's backward keeps u, and a later forward updates the buffer in place before that backward.
            uConst = u.clone();
            vConst ??= Normalise(w.t().mv(uConst));
        }
        var sigma = uConst.dot(matrix.mv(vConst));
        return scope.MoveToOuter(weight.div(sigma));
    }

    /// <summary>The σ the layer would divide by in eval mode, uᵀW normalize(Wᵀu) = ‖Wᵀu‖, without updating u.</summary>
    internal static double Sigma(Tensor weight, Tensor u, long dim)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var w = WeightMatrix(weight.detach(), dim);
        var v = Normalise(w.t().mv(u));
        return u.dot(w.mv(v)).to_type(ScalarType.Float64).item<double>();
    }

    /// <summary>x / max(‖x‖₂, ε), as <c>torch.nn.functional.normalize(x, dim=0, eps=1e-12)</c>.</summary>
    private static Tensor Normalise(Tensor x) => x.div(torch.linalg.vector_norm(x).clamp_min(Eps));
}
