using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// An embedding table with spectral normalisation, as BigGAN (Brock et al. 2019) uses for class embeddings in the
/// projection discriminator: the [count, dim] table W is divided by its largest singular value, estimated by power
/// iteration as <c>torch.nn.utils.spectral_norm(nn.Embedding(...))</c> does (dim 0: rows = count).
/// </summary>
/// <remarks>
/// Checkpoint keys: <c>weight</c> [count, dim] and <c>u</c> [count] (an embedding has no bias). Initialisation as
/// <c>nn.Embedding</c>: weight from N(0, 1).
/// </remarks>
public sealed class SNEmbedding : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Tensor u;

    /// <summary>Creates the table.</summary>
    /// <param name="count">Number of embeddings (classes); rows of W and length of u.</param>
    /// <param name="dim">Size of each embedding vector.</param>
    /// <param name="generator">Random source for the weight and u; null = torch's default generator.</param>
    /// <param name="powerIterations">Power iterations per training-mode forward; ≥ 1.</param>
    public SNEmbedding(long count, long dim, Generator? generator = null, int powerIterations = 1)
        : base(nameof(SNEmbedding))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(powerIterations, 1);
        PowerIterations = powerIterations;
        Dim = dim;
        weight = Parameter(SeededInit.Normal(torch.empty(count, dim), 0, 1, generator));
        u = SpectralNormMath.InitialU(count, weight.dtype, generator);
        RegisterComponents();
    }

    /// <summary>The raw (unnormalised) table parameter [count, dim], for initialisation.</summary>
    public Parameter Weight => weight;

    /// <summary>Size of each embedding vector.</summary>
    public long Dim { get; }

    /// <summary>Power iterations run per training-mode forward.</summary>
    public int PowerIterations { get; }

    /// <summary>The current estimate of σ(W) (the divisor eval mode uses), without updating u.</summary>
    public double Sigma() => SpectralNormMath.Sigma(weight, u, 0);

    /// <summary>W/σ as eval mode would use it, detached; for diagnostics and tests.</summary>
    public Tensor NormalisedWeight()
    {
        using var noGrad = torch.no_grad();
        return SpectralNormMath.NormalisedWeight(weight, u, 0, training: false, PowerIterations);
    }

    /// <summary>Looks up integer indices of any shape [...] and returns [..., dim] rows of W/σ.</summary>
    public override Tensor forward(Tensor indices)
    {
        using var scope = NewDisposeScope();
        var w = SpectralNormMath.NormalisedWeight(weight, u, 0, training, PowerIterations);
        var rows = w.index_select(0, indices.reshape(-1));
        return scope.MoveToOuter(rows.reshape([.. indices.shape, Dim]));
    }
}
