using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// Weight initialisers that honour an explicit random generator, so that two ranks seeded alike build identical
/// networks. <c>nn.init.*</c> in TorchSharp 0.107 draws from the default generator whatever generator it is given;
/// these draw with <c>torch.randn</c>/<c>torch.rand</c> (which honour it) and <c>copy_</c> the values in.
/// </summary>
/// <remarks>
/// Every method writes the tensor in place under <c>no_grad</c> (parameters stay the same objects, so optimisers and
/// gradient buckets built earlier stay valid) and returns it. Values are drawn on the CPU in the tensor's dtype;
/// <c>copy_</c> moves them to the tensor's device. A null generator means torch's default generator.
/// </remarks>
public static class SeededInit
{
    /// <summary>Fills <paramref name="tensor"/> from N(<paramref name="mean"/>, <paramref name="std"/>²), as <c>nn.init.normal_</c>.</summary>
    /// <param name="tensor">The tensor to overwrite in place.</param>
    /// <param name="mean">Mean of the normal distribution.</param>
    /// <param name="std">Standard deviation (not variance); must be ≥ 0.</param>
    /// <param name="generator">Random source; null = torch's default generator.</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor Normal(Tensor tensor, double mean, double std, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentOutOfRangeException.ThrowIfNegative(std);
        using var noGrad = torch.no_grad();
        using var values = torch.randn(tensor.shape, dtype: tensor.dtype, generator: generator);
        values.mul_(std).add_(mean);
        tensor.copy_(values);
        return tensor;
    }

    /// <summary>Fills <paramref name="tensor"/> from U(<paramref name="low"/>, <paramref name="high"/>), as <c>nn.init.uniform_</c>.</summary>
    /// <param name="tensor">The tensor to overwrite in place.</param>
    /// <param name="low">Lower bound of the interval.</param>
    /// <param name="high">Upper bound of the interval; must be ≥ <paramref name="low"/>.</param>
    /// <param name="generator">Random source; null = torch's default generator.</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor Uniform(Tensor tensor, double low, double high, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(high >= low)) throw new ArgumentException($"Uniform bounds must satisfy low ≤ high; got low={low}, high={high}.", nameof(high));
        using var noGrad = torch.no_grad();
        using var values = torch.rand(tensor.shape, dtype: tensor.dtype, generator: generator);
        values.mul_(high - low).add_(low);
        tensor.copy_(values);
        return tensor;
    }

    /// <summary>
    /// Xavier/Glorot uniform initialisation (Glorot &amp; Bengio 2010): U(−a, a) with
    /// a = gain·√(6 / (fan_in + fan_out)), fans computed as <c>torch.nn.init._calculate_fan_in_and_fan_out</c> does
    /// (fan_in = size(1)·receptive field, fan_out = size(0)·receptive field).
    /// </summary>
    /// <param name="tensor">The tensor to overwrite in place; at least two dimensions.</param>
    /// <param name="gain">Scaling factor (1 for linear/sigmoid layers; see <c>nn.init.calculate_gain</c>).</param>
    /// <param name="generator">Random source; null = torch's default generator.</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor XavierUniform(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        var (fanIn, fanOut) = Fans(tensor);
        var bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>
    /// Orthogonal initialisation (Saxe et al. 2014), as <c>torch.nn.init.orthogonal_</c>: the tensor is viewed as a
    /// [rows = size(0), cols = numel/rows] matrix; a standard-normal matrix (transposed when rows &lt; cols) is
    /// QR-decomposed, Q's columns are multiplied by sign(diag(R)) so the result is uniformly (Haar) distributed,
    /// and gain·Q (transposed back) is written in. The result has orthonormal columns (QᵀQ = I) when rows ≥ cols,
    /// orthonormal rows (QQᵀ = I) otherwise, each scaled by <paramref name="gain"/>.
    /// </summary>
    /// <param name="tensor">The tensor to overwrite in place; at least two dimensions.</param>
    /// <param name="gain">Multiplier applied to the orthogonal matrix.</param>
    /// <param name="generator">Random source; null = torch's default generator.</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor Orthogonal(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() < 2)
            throw new ArgumentException($"Orthogonal initialisation needs at least 2 dimensions; got shape [{string.Join(", ", tensor.shape)}].", nameof(tensor));
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var rows = tensor.shape[0];
        var cols = tensor.numel() / rows;
        // QR in float64 whatever the target dtype, so float32 targets are orthogonal to float32 precision.
        var flat = torch.randn([rows, cols], dtype: ScalarType.Float64, generator: generator);
        if (rows < cols) flat = flat.t();
        var (q, r) = torch.linalg.qr(flat);
        q = q.mul(r.diagonal().sign());
        if (rows < cols) q = q.t();
        tensor.copy_(q.mul(gain).reshape(tensor.shape));
        return tensor;
    }

    /// <summary>fan_in and fan_out as PyTorch computes them for a weight of at least two dimensions.</summary>
    internal static (long FanIn, long FanOut) Fans(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() < 2)
            throw new ArgumentException($"Fan in and fan out need at least 2 dimensions; got shape [{string.Join(", ", tensor.shape)}].", nameof(tensor));
        var receptive = 1L;
        for (var d = 2; d < tensor.dim(); d++) receptive *= tensor.shape[d];
        return (tensor.shape[1] * receptive, tensor.shape[0] * receptive);
    }
}
