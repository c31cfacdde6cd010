namespace GenCluster.Contracts.Models;

/// <summary>
/// What VQ-VAE and VQ-VAE-2 share: the vector quantiser (codebook size and code dimension, commitment cost, EMA
/// codebook updates with Laplace smoothing, dead-code restart) and the residual stacks of encoder and decoder.
/// </summary>
/// <remarks>Paper defaults (van den Oord et al. 2017; Razavi et al. 2019): K = 512 codes of dimension 64, β = 0.25, EMA decay 0.99, ε = 1e-5.</remarks>
[GenerateSerializer, Immutable]
public abstract record VectorQuantizedOptions : AutoencoderOptions
{
    /// <summary>Codes per codebook (K).</summary>
    [Id(0)] public int CodebookSize { get; init; } = 512;

    /// <summary>Dimension of a code vector (D).</summary>
    [Id(1)] public int CodeDim { get; init; } = 64;

    /// <summary>Commitment cost β: weight of ‖z_e − sg(e)‖², whose gradient reaches only the encoder.</summary>
    [Id(2)] public double Commitment { get; init; } = 0.25;

    /// <summary>Decay γ of the codebook's exponential moving averages of per-code counts and sums.</summary>
    [Id(3)] public double CodebookDecay { get; init; } = 0.99;

    /// <summary>Laplace smoothing ε of the per-code counts.</summary>
    [Id(4)] public double CodebookEpsilon { get; init; } = 1e-5;

    /// <summary>A code whose moving-average count (vectors per step over the round) falls below this is restarted on an encoder output; 0 = never.</summary>
    [Id(5)] public double DeadCodeThreshold { get; init; } = 1.0;

    /// <summary>Residual blocks in each encoder and decoder stack.</summary>
    [Id(6)] public int ResidualBlocks { get; init; } = 2;

    /// <summary>Hidden channels of a residual block.</summary>
    [Id(7)] public int ResidualWidth { get; init; } = 32;

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model")
    {
        var errors = base.Validate(prefix).ToList();
        errors.AddRange(AtLeast(prefix, "codebookSize", CodebookSize, 2));
        errors.AddRange(AtLeast(prefix, "codeDim", CodeDim, 1));
        errors.AddRange(NonNegative(prefix, "commitment", Commitment));
        errors.AddRange(UnitInterval(prefix, "codebookDecay", CodebookDecay));
        errors.AddRange(Positive(prefix, "codebookEpsilon", CodebookEpsilon));
        errors.AddRange(NonNegative(prefix, "deadCodeThreshold", DeadCodeThreshold));
        errors.AddRange(AtLeast(prefix, "residualBlocks", ResidualBlocks, 0));
        errors.AddRange(AtLeast(prefix, "residualWidth", ResidualWidth, 1));
        return errors;
    }
}
