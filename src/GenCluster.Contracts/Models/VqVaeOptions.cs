namespace GenCluster.Contracts.Models;

/// <summary>
/// <c>vqvae</c>: VQ-VAE (van den Oord et al. 2017): a convolutional encoder to one code map (7×7 for 28×28 images,
/// 8×8 for 32×32), a vector quantiser with the straight-through estimator, commitment loss and EMA codebook updates,
/// and a decoder. Trained on reconstruction; it has no prior here, so it reconstructs rather than samples.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record VqVaeOptions : VectorQuantizedOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "vqvae";

    /// <inheritdoc />
    public override string Kind => KindName;
}
