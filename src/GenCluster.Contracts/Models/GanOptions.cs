using System.Text.Json.Serialization;

namespace GenCluster.Contracts.Models;

/// <summary>
/// What every GAN kind has: a latent size, a width, an optimiser per network, a D/G step ratio, an objective and
/// the lecture's stabilisers. Each kind's record sets its paper's defaults.
/// </summary>
[GenerateSerializer, Immutable]
public abstract record GanOptions : ModelOptions
{
    /// <summary>Objectives by name (see the trainer's Objectives folder).</summary>
    public static readonly IReadOnlyList<string> AllObjectives = ["non-saturating", "hinge", "wasserstein"];

    /// <summary>Latent vector size (z).</summary>
    [Id(0)] public int LatentDim { get; init; } = 100;

    /// <summary>Base channel width (convolutional kinds) or hidden units (MLP kinds).</summary>
    [Id(1)] public int Width { get; init; } = 64;

    /// <summary>G's learning rate.</summary>
    [Id(2)] public double LearningRateG { get; init; } = 2e-4;

    /// <summary>D's learning rate (TTUR, Heusel et al. 2017, when it differs from G's).</summary>
    [Id(3)] public double LearningRateD { get; init; } = 2e-4;

    /// <summary>Adam β1 (ignored by RMSProp).</summary>
    [Id(4)] public double Beta1 { get; init; } = 0.5;

    /// <summary>Adam β2; RMSProp's smoothing constant α.</summary>
    [Id(5)] public double Beta2 { get; init; } = 0.999;

    /// <summary>Optimiser for both networks: <c>adam</c> or <c>rmsprop</c> (WGAN).</summary>
    [Id(6)] public string Optimizer { get; init; } = "adam";

    /// <summary>Objective: one of <see cref="AllowedObjectives"/> for the kind.</summary>
    [Id(7)] public string Objective { get; init; } = "non-saturating";

    /// <summary>D (critic) updates per G update, each on a fresh real batch (WGAN's n_critic).</summary>
    [Id(8)] public int DSteps { get; init; } = 1;

    /// <summary>One-sided label smoothing (Salimans et al. 2016): D's target for real images is 1 − this. 0 = off; non-saturating objective only.</summary>
    [Id(9)] public double LabelSmoothing { get; init; }

    /// <summary>Historical averaging (Salimans et al. 2016): weight of ‖θ − mean of past θ‖² added to both losses. 0 = off.</summary>
    [Id(10)] public double HistoricalAveraging { get; init; }

    /// <summary>Decay of the exponential moving average of G's weights used for samples (Yazıcı et al. 2019). 0 = no EMA copy.</summary>
    [Id(11)] public double EmaDecay { get; init; } = 0.999;

    /// <summary>Step from which the EMA averages; before it the EMA copy follows G exactly (BigGAN's ema_start), so the early, fast-moving weights stay out of the average.</summary>
    [Id(12)] public long EmaStart { get; init; } = 500;

    /// <summary>
    /// Cross-replica (synchronised) BatchNorm: in training, G's and D's BatchNorm layers normalise with the statistics
    /// of the whole round's batch (all workers), forward and backward, so n workers with batch B train exactly as one
    /// worker with n·B. Costs one small all-reduce per BatchNorm layer per forward and per backward pass. Paper: BigGAN
    /// (Brock et al. 2018) uses cross-replica BN over all TPU cores. JSON <c>syncBn</c>; off by default.
    /// </summary>
    [Id(13), JsonPropertyName("syncBn")] public bool SyncBatchNorm { get; init; }

    /// <summary>Objectives this kind trains correctly (the Wasserstein critic needs clipping or a gradient penalty).</summary>
    public virtual IReadOnlyList<string> AllowedObjectives => ["non-saturating", "hinge"];

    /// <summary>True when G and D take class labels (conditional GAN).</summary>
    public virtual bool Conditional => false;

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model")
    {
        var errors = new List<OptionError>();
        errors.AddRange(AtLeast(prefix, "latentDim", LatentDim, 1));
        errors.AddRange(AtLeast(prefix, "width", Width, 4));
        if (Width > 1024) errors.Add(new OptionError($"{prefix}.width", $"must be <= 1024, got {Width}"));
        errors.AddRange(Positive(prefix, "learningRateG", LearningRateG));
        errors.AddRange(Positive(prefix, "learningRateD", LearningRateD));
        errors.AddRange(UnitInterval(prefix, "beta1", Beta1));
        errors.AddRange(UnitInterval(prefix, "beta2", Beta2));
        errors.AddRange(OneOf(prefix, "optimizer", Optimizer, ["adam", "rmsprop"]));
        errors.AddRange(OneOf(prefix, "objective", Objective, AllowedObjectives));
        errors.AddRange(AtLeast(prefix, "dSteps", DSteps, 1));
        if (DSteps > 100) errors.Add(new OptionError($"{prefix}.dSteps", $"must be <= 100, got {DSteps}"));
        errors.AddRange(UnitInterval(prefix, "labelSmoothing", LabelSmoothing));
        if (LabelSmoothing > 0 && Objective != "non-saturating")
            errors.Add(new OptionError($"{prefix}.labelSmoothing", $"applies to the non-saturating objective only, got objective '{Objective}' with labelSmoothing {LabelSmoothing}"));
        errors.AddRange(NonNegative(prefix, "historicalAveraging", HistoricalAveraging));
        errors.AddRange(UnitInterval(prefix, "emaDecay", EmaDecay));
        errors.AddRange(AtLeast(prefix, "emaStart", EmaStart, 0));
        return errors;
    }
}
