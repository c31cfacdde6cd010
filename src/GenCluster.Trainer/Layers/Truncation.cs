using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// The truncation trick (Brock et al. 2018, §3.1): latents are drawn from N(0, I) truncated to |z| ≤ threshold by
/// resampling every value above it, trading variety for fidelity at sampling time.
/// </summary>
public static class Truncation
{
    private const int MaxRounds = 1000;

    /// <summary>Returns <paramref name="z"/> with every value whose magnitude exceeds <paramref name="threshold"/> redrawn from N(0, 1) until none does.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A threshold ≤ 0.</exception>
    public static Tensor Resample(Tensor z, double threshold, Generator? generator = null)
    {
        if (!(threshold > 0)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "truncation must be > 0");
        var result = z.clone();
        for (var round = 0; round < MaxRounds; round++)
        {
            using var outside = result.abs().gt(threshold);
            if (!outside.any().item<bool>()) return result;
            using var fresh = torch.randn(result.shape, dtype: result.dtype, generator: generator);
            result.masked_scatter_(outside, fresh.masked_select(outside));
        }
        // Values above the threshold after 1000 rounds are vanishingly unlikely for thresholds of practical size.
        using var clamp = result.clamp(-threshold, threshold);
        result.copy_(clamp);
        return result;
    }
}
