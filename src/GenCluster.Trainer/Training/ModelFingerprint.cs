using System.Security.Cryptography;
using System.Text;
using GenCluster.Trainer.Distributed;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>A rank built a model whose parameter/buffer layout differs from rank 0's.</summary>
public sealed class ModelFingerprintMismatchException(string message) : Exception(message);

/// <summary>
/// Names, dtypes and shapes of a model's parameters and buffers in registration order, hashed. Ranks compare
/// fingerprints at round start (DDP does the same) so a mismatched build fails loudly instead of averaging
/// unrelated tensors.
/// </summary>
public static class ModelFingerprint
{
    /// <summary>The layout text the hash is taken over (useful in error reports).</summary>
    public static string Describe(nn.Module module)
    {
        var text = new StringBuilder();
        foreach (var (name, p) in module.named_parameters())
            text.Append("param ").Append(name).Append(' ').Append(p.dtype).Append(" [").Append(string.Join(",", p.shape)).Append("]\n");
        foreach (var (name, b) in module.named_buffers())
            text.Append("buffer ").Append(name).Append(' ').Append(b.dtype).Append(" [").Append(string.Join(",", b.shape)).Append("]\n");
        return text.ToString();
    }

    /// <summary>64-bit hash of <see cref="Describe"/>.</summary>
    public static ulong Compute(nn.Module module) =>
        BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(Describe(module))), 0);

    /// <summary>All-gathers every rank's fingerprint of <paramref name="module"/> and throws when any differs from rank 0's.</summary>
    /// <exception cref="ModelFingerprintMismatchException">Names the first mismatching rank with both fingerprints.</exception>
    public static async Task VerifyAcrossRanksAsync(ICollectives collectives, string modelName, nn.Module module, CancellationToken cancellationToken)
    {
        var hash = Compute(module);
        long count = module.parameters().Sum(p => p.numel());
        // Doubles carry integers exactly up to 2^53, so the hash travels as two 32-bit halves.
        double[] mine = [hash >> 32, hash & 0xFFFFFFFF, count];
        var all = await collectives.AllGatherAsync(mine, cancellationToken);
        var reference = all[0];
        for (var rank = 1; rank < all.Length; rank++)
        {
            if (all[rank].AsSpan().SequenceEqual(reference)) continue;
            throw new ModelFingerprintMismatchException(
                $"{modelName} fingerprint of rank {rank} is {Format(all[rank])}, expected rank 0's {Format(reference)}: " +
                "the ranks built different models (check JobSpec.Model and that every trainer runs the same version)");
        }
    }

    private static string Format(double[] v) => $"0x{(ulong)v[0]:X8}{(ulong)v[1]:X8} ({(long)v[2]} parameters)";
}
