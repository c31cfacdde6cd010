using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// BigGAN's hierarchical latent space (Brock et al. 2018, §3 "skip-z"): z is split into equal chunks; the first feeds
/// the generator's input linear layer and each later chunk is concatenated to the shared class embedding to form the
/// condition vector of one resolution's <see cref="ConditionalBatchNorm2d"/> layers (the reference's
/// <c>torch.split(z, z_chunk_size, 1)</c> and <c>torch.cat([y, chunk], 1)</c>).
/// </summary>
public static class HierarchicalLatents
{
    /// <summary>Splits z [N, dim] along dim 1 into <paramref name="chunks"/> views of shape [N, dim/chunks], in order.</summary>
    /// <param name="z">The latent batch [N, dim].</param>
    /// <param name="chunks">How many chunks; must divide dim.</param>
    /// <returns>The chunks, first to last; views of z.</returns>
    /// <exception cref="ArgumentException">z is not 2-D, chunks &lt; 1, or dim is not divisible by chunks.</exception>
    public static Tensor[] Split(Tensor z, int chunks)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.dim() != 2)
            throw new ArgumentException($"Hierarchical latents need z of shape [N, dim]; got [{string.Join(", ", z.shape)}].", nameof(z));
        if (chunks < 1)
            throw new ArgumentException($"Hierarchical latents need at least 1 chunk; got chunks={chunks}.", nameof(chunks));
        var dim = z.shape[1];
        if (dim % chunks != 0)
            throw new ArgumentException(
                $"The latent dimension {dim} is not divisible by the number of chunks {chunks} (BigGAN uses dim_z = chunk size × chunks).",
                nameof(chunks));
        return z.split(dim / chunks, 1);
    }

    /// <summary>The condition vector of one generator block: cat([sharedEmbedding, chunk], 1), embedding first.</summary>
    /// <param name="sharedEmbedding">The shared class embedding [N, E].</param>
    /// <param name="chunk">One chunk of z [N, K].</param>
    /// <returns>[N, E + K].</returns>
    public static Tensor Condition(Tensor sharedEmbedding, Tensor chunk)
    {
        ArgumentNullException.ThrowIfNull(sharedEmbedding);
        ArgumentNullException.ThrowIfNull(chunk);
        if (sharedEmbedding.dim() != 2 || chunk.dim() != 2 || sharedEmbedding.shape[0] != chunk.shape[0])
            throw new ArgumentException(
                $"Condition needs [N, E] and [N, K] with the same N; got [{string.Join(", ", sharedEmbedding.shape)}] and [{string.Join(", ", chunk.shape)}].",
                nameof(chunk));
        return torch.cat([sharedEmbedding, chunk], 1);
    }
}
