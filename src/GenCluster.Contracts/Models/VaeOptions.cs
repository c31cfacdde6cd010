namespace GenCluster.Contracts.Models;

/// <summary>
/// <c>vae</c>: variational autoencoder (Kingma &amp; Welling 2014): a Gaussian encoder q(z|x) = N(μ, diag σ²), the
/// reparametrisation z = μ + σ·ε, a Bernoulli or Gaussian decoder p(x|z), and the ELBO with the KL divergence to the
/// standard normal prior in closed form. Samples decode z ~ N(0, I).
/// </summary>
/// <remarks>Paper: MLP encoder and decoder, latent size 20 on MNIST, Adagrad. Here: a convolutional encoder and decoder with Adam.</remarks>
[GenerateSerializer, Immutable]
public sealed record VaeOptions : AutoencoderOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "vae";

    /// <summary>Decoder likelihoods.</summary>
    public static readonly IReadOnlyList<string> Decoders = ["bernoulli", "gaussian"];

    /// <summary>Paper defaults.</summary>
    public VaeOptions()
    {
        Width = 32;
        LearningRate = 1e-3;
    }

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <summary>Size of the latent z (paper: 20 on MNIST).</summary>
    [Id(0)] public int LatentDim { get; init; } = 20;

    /// <summary>p(x|z): <c>bernoulli</c> (pixels in [0, 1] as probabilities; binary cross-entropy) or <c>gaussian</c> (fixed σ).</summary>
    [Id(1)] public string Decoder { get; init; } = "bernoulli";

    /// <summary>The Gaussian decoder's fixed standard deviation, in [0, 1] pixel units.</summary>
    [Id(2)] public double DecoderSigma { get; init; } = 0.1;

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model")
    {
        var errors = base.Validate(prefix).ToList();
        errors.AddRange(AtLeast(prefix, "latentDim", LatentDim, 1));
        errors.AddRange(OneOf(prefix, "decoder", Decoder, Decoders));
        errors.AddRange(Positive(prefix, "decoderSigma", DecoderSigma));
        return errors;
    }
}
