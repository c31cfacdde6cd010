using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// Exponential moving average of weights (Polyak averaging), as BigGAN (Brock et al. 2019, §4, "G_ema") keeps for its
/// generator: after each optimiser step θ_ema ← decay·θ_ema + (1−decay)·θ, and samples and evaluation use θ_ema.
/// </summary>
/// <remarks>
/// The target is a second instance of the same network (same parameter and buffer names and shapes). Buffers
/// (e.g. BatchNorm running statistics) are copied, not averaged, as BigGAN's ema class does. All writes are in place
/// under no_grad, so the target's tensors stay the same objects. Updated after the synchronised step, the average
/// is identical on every rank by construction.
/// </remarks>
public static class ExponentialMovingAverage
{
    /// <summary>θ_target ← decay·θ_target + (1−decay)·θ_source for every parameter; buffers copied from the source.</summary>
    /// <param name="target">The averaged network, written in place.</param>
    /// <param name="source">The trained network, read only.</param>
    /// <param name="decay">Weight of the old average, in [0, 1] (BigGAN uses 0.9999); 0 copies the source.</param>
    /// <exception cref="ArgumentException">The structures differ; the message names the first mismatching key and both shapes.</exception>
    public static void Update(nn.Module target, nn.Module source, double decay)
    {
        if (!(decay >= 0 && decay <= 1))
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "decay must be in [0, 1].");
        var (parameters, buffers) = Pair(target, source);
        using var noGrad = torch.no_grad();
        // Scalars held for the loop: a temporary one could be finalized while libtorch still reads it (see KeptScalars.Adam).
        using var keep = decay.ToScalar();
        using var take = (1.0 - decay).ToScalar();
        foreach (var (t, s) in parameters) t.mul_(keep).add_(s, alpha: take);
        foreach (var (t, s) in buffers) t.copy_(s);
    }

    /// <summary>Copies every parameter and buffer of <paramref name="source"/> into <paramref name="target"/> (before the EMA start step).</summary>
    /// <param name="target">The averaged network, written in place.</param>
    /// <param name="source">The trained network, read only.</param>
    /// <exception cref="ArgumentException">The structures differ; the message names the first mismatching key and both shapes.</exception>
    public static void CopyFrom(nn.Module target, nn.Module source)
    {
        var (parameters, buffers) = Pair(target, source);
        using var noGrad = torch.no_grad();
        foreach (var (t, s) in parameters.Concat(buffers)) t.copy_(s);
    }

    /// <summary>Matches parameters and buffers by name, checking names and shapes before anything is written.</summary>
    private static (List<(Tensor Target, Tensor Source)> Parameters, List<(Tensor Target, Tensor Source)> Buffers) Pair(nn.Module target, nn.Module source)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(source);
        var parameters = Match("parameter",
            target.named_parameters().Select(p => (p.name, (Tensor)p.parameter)),
            source.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        var buffers = Match("buffer", target.named_buffers(), source.named_buffers());
        return (parameters, buffers);
    }

    private static List<(Tensor Target, Tensor Source)> Match(string kind, IEnumerable<(string name, Tensor tensor)> target, IEnumerable<(string name, Tensor tensor)> source)
    {
        var t = target.ToList();
        var s = source.ToDictionary(x => x.name, x => x.tensor);
        var pairs = new List<(Tensor, Tensor)>();
        foreach (var (name, tensor) in t)
        {
            if (!s.TryGetValue(name, out var other))
                throw new ArgumentException($"EMA {kind} '{name}': target [{Shape(tensor)}], source (missing).");
            if (!tensor.shape.SequenceEqual(other.shape))
                throw new ArgumentException($"EMA {kind} '{name}': target [{Shape(tensor)}], source [{Shape(other)}].");
            pairs.Add((tensor, other));
        }
        var extra = s.Keys.Except(t.Select(x => x.name)).FirstOrDefault();
        if (extra is not null)
            throw new ArgumentException($"EMA {kind} '{extra}': target (missing), source [{Shape(s[extra])}].");
        return pairs;
    }

    private static string Shape(Tensor t) => string.Join(", ", t.shape);
}
