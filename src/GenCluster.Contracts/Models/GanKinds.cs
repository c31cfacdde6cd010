namespace GenCluster.Contracts.Models;

/// <summary>
/// <c>gan</c>: the original GAN (Goodfellow et al. 2014) with multilayer perceptrons for G and D and the
/// non-saturating generator loss. <see cref="GanOptions.Width"/> is the hidden layer size.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record MlpGanOptions : GanOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "gan";

    /// <summary>MLP defaults: 256 hidden units.</summary>
    public MlpGanOptions() => Width = 256;

    /// <inheritdoc />
    public override string Kind => KindName;
}

/// <summary>
/// <c>cgan</c>: conditional GAN (Mirza &amp; Osindero 2014): the class label, one-hot, is concatenated to z in G and
/// to the image in D (MLPs as <c>gan</c>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CganOptions : GanOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "cgan";

    /// <summary>MLP defaults: 256 hidden units.</summary>
    public CganOptions() => Width = 256;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override bool Conditional => true;
}

/// <summary>
/// <c>dcgan</c>: DCGAN (Radford et al. 2015): strided (transposed) convolutions, BatchNorm, ReLU/LeakyReLU,
/// Adam(2e-4, 0.5), non-saturating loss (or hinge).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record DcganOptions : GanOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "dcgan";

    /// <inheritdoc />
    public override string Kind => KindName;
}

/// <summary>
/// <c>wgan</c>: Wasserstein GAN (Arjovsky et al. 2017): a critic with the Wasserstein loss, weights clipped to
/// [−clip, clip] after every critic update, RMSProp(5e-5), 5 critic steps per G step; DCGAN networks.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WganOptions : GanOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "wgan";

    /// <summary>Paper defaults.</summary>
    public WganOptions()
    {
        Optimizer = "rmsprop";
        LearningRateG = 5e-5;
        LearningRateD = 5e-5;
        Beta2 = 0.99;
        Objective = "wasserstein";
        DSteps = 5;
    }

    /// <summary>Critic weights are clipped to [−Clip, Clip] after each critic update (paper: 0.01).</summary>
    [Id(0)] public double Clip { get; init; } = 0.01;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override IReadOnlyList<string> AllowedObjectives => ["wasserstein"];

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model") =>
        base.Validate(prefix).Concat(Positive(prefix, "clip", Clip));
}

/// <summary>
/// <c>wgan-gp</c>: WGAN with gradient penalty (Gulrajani et al. 2017): λ·E[(‖∇D(x̂)‖ − 1)²] on random
/// interpolates, no BatchNorm in the critic, Adam(1e-4, 0, 0.9), 5 critic steps per G step.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WganGpOptions : GanOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "wgan-gp";

    /// <summary>Paper defaults.</summary>
    public WganGpOptions()
    {
        LearningRateG = 1e-4;
        LearningRateD = 1e-4;
        Beta1 = 0;
        Beta2 = 0.9;
        Objective = "wasserstein";
        DSteps = 5;
    }

    /// <summary>Penalty weight λ (paper: 10).</summary>
    [Id(0)] public double GradientPenalty { get; init; } = 10;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override IReadOnlyList<string> AllowedObjectives => ["wasserstein"];

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model") =>
        base.Validate(prefix).Concat(Positive(prefix, "gradientPenalty", GradientPenalty));
}

/// <summary>
/// <c>sngan</c>: spectral normalisation (Miyato et al. 2018) on every layer of D, hinge loss, Adam(2e-4, 0.5, 0.999).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SnganOptions : GanOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "sngan";

    /// <summary>Paper defaults.</summary>
    public SnganOptions() => Objective = "hinge";

    /// <inheritdoc />
    public override string Kind => KindName;
}

/// <summary>
/// <c>sagan</c>: self-attention GAN (Zhang et al. 2018): self-attention blocks with a learned γ in G and D, spectral
/// norm in both, hinge loss, TTUR learning rates (G 1e-4, D 4e-4) with Adam(0, 0.9).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SaganOptions : GanOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "sagan";

    /// <summary>Paper defaults.</summary>
    public SaganOptions()
    {
        Objective = "hinge";
        LearningRateG = 1e-4;
        LearningRateD = 4e-4;
        Beta1 = 0;
        Beta2 = 0.9;
    }

    /// <summary>Feature-map side (pixels) at which the attention blocks sit in G and D: 7 or 14 for 28×28 images.</summary>
    [Id(0)] public int AttentionResolution { get; init; } = 14;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model") =>
        base.Validate(prefix).Concat(OneOf(prefix, "attentionResolution", AttentionResolution.ToString(System.Globalization.CultureInfo.InvariantCulture), ["7", "14"]));
}
