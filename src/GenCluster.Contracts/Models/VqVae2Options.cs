namespace GenCluster.Contracts.Models;

/// <summary>
/// <c>vqvae2</c>: VQ-VAE-2 (Razavi et al. 2019): a bottom code map (14×14 for 28×28 images, 8×8 for 32×32) and a top
/// one (7×7, 4×4), the bottom quantised from the encoder's features together with the decoded top, one decoder from
/// both; then, as a second stage of the same job, an autoregressive prior — a gated PixelCNN (van den Oord et al.
/// 2016) over the top codes and one over the bottom codes conditioned on the top — trained on the codes the frozen
/// stage-1 model extracts. Samples draw top then bottom codes and decode them.
/// </summary>
/// <remarks>
/// Paper defaults (the reference's 256×256 model): 128 channels, 2 residual blocks of 32 channels, K = 512 codes of
/// dimension 64 per level, Adam 3e-4; its prior is PixelSNAIL. The job's <c>steps</c> cover both stages: the last
/// <see cref="PriorSteps"/> of them train the prior.
/// </remarks>
[GenerateSerializer, Immutable]
public sealed record VqVae2Options : VectorQuantizedOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "vqvae2";

    /// <summary>Stage names.</summary>
    public const string AutoencoderStage = "autoencoder", PriorStage = "prior";

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <summary>Steps of the prior stage, the last of the job's steps; 0 = autoencoder only.</summary>
    [Id(0)] public long PriorSteps { get; init; }

    /// <summary>Channels of the gated PixelCNN prior over the top codes (and over the bottom codes unless <see cref="BottomPriorWidth"/> is set).</summary>
    [Id(1)] public int PriorWidth { get; init; } = 128;

    /// <summary>Gated masked layers of the top prior (and of the bottom prior unless <see cref="BottomPriorLayers"/> is set).</summary>
    [Id(2)] public int PriorLayers { get; init; } = 15;

    /// <summary>Kernel size of the priors' masked convolutions (odd).</summary>
    [Id(3)] public int PriorKernel { get; init; } = 5;

    /// <summary>Adam learning rate of the priors.</summary>
    [Id(4)] public double PriorLearningRate { get; init; } = 3e-4;

    /// <summary>Sampling temperature of the priors' softmax (1 = the model's distribution).</summary>
    [Id(5)] public double PriorTemperature { get; init; } = 1.0;

    /// <summary>Channels of the bottom prior; 0 = <see cref="PriorWidth"/>. The bottom codes, conditioned on the top, carry little uncertainty and cost four times as many positions.</summary>
    [Id(6)] public int BottomPriorWidth { get; init; }

    /// <summary>Gated masked layers of the bottom prior; 0 = <see cref="PriorLayers"/>.</summary>
    [Id(7)] public int BottomPriorLayers { get; init; }

    /// <summary>
    /// Sampling temperature of the bottom prior; 0 = <see cref="PriorTemperature"/>. Below 1 it sharpens the local
    /// detail the bottom codes carry (strokes), given the top codes that decide the digit's shape.
    /// </summary>
    [Id(10)] public double BottomPriorTemperature { get; init; }

    /// <summary>
    /// Learning-rate schedule of the priors over the prior stage: <c>cosine</c> (half a cosine from
    /// <see cref="PriorLearningRate"/> to 0 at the stage's end) or <c>constant</c>.
    /// </summary>
    [Id(8)] public string PriorSchedule { get; init; } = "cosine";

    /// <summary>
    /// Decay of the exponential moving average of the priors' weights (Polyak averaging, as PixelCNN++ keeps), which
    /// samples and evaluation use; 0 = none. The effective decay ramps up as min(decay, (1 + t)/(10 + t)) over prior steps t.
    /// </summary>
    [Id(9)] public double PriorEmaDecay { get; init; } = 0.999;

    /// <inheritdoc />
    public override IReadOnlyList<TrainingStage> Stages(long steps) => PriorSteps <= 0
        ? [new TrainingStage(AutoencoderStage, 0, steps)]
        : [new TrainingStage(AutoencoderStage, 0, steps - PriorSteps), new TrainingStage(PriorStage, steps - PriorSteps, steps)];

    /// <inheritdoc />
    public override IEnumerable<OptionError> ValidateSteps(long steps, string prefix = "model") =>
        PriorSteps < steps ? [] : [new OptionError($"{prefix}.priorSteps", $"must be < steps ({steps}) so the autoencoder stage has steps, got {PriorSteps}")];

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model")
    {
        var errors = base.Validate(prefix).ToList();
        errors.AddRange(AtLeast(prefix, "priorSteps", PriorSteps, 0));
        errors.AddRange(AtLeast(prefix, "priorWidth", PriorWidth, 2));
        errors.AddRange(AtLeast(prefix, "priorLayers", PriorLayers, 1));
        if (BottomPriorWidth is not 0) errors.AddRange(AtLeast(prefix, "bottomPriorWidth", BottomPriorWidth, 2));
        errors.AddRange(AtLeast(prefix, "bottomPriorLayers", BottomPriorLayers, 0));
        if (PriorKernel < 3 || PriorKernel % 2 == 0) errors.Add(new OptionError($"{prefix}.priorKernel", $"must be an odd number >= 3, got {PriorKernel}"));
        errors.AddRange(Positive(prefix, "priorLearningRate", PriorLearningRate));
        errors.AddRange(Positive(prefix, "priorTemperature", PriorTemperature));
        if (BottomPriorTemperature is not 0) errors.AddRange(Positive(prefix, "bottomPriorTemperature", BottomPriorTemperature));
        errors.AddRange(OneOf(prefix, "priorSchedule", PriorSchedule, ["cosine", "constant"]));
        if (!(PriorEmaDecay >= 0 && PriorEmaDecay < 1))
            errors.Add(new OptionError($"{prefix}.priorEmaDecay", $"must be in [0, 1) (0 = no average), got {PriorEmaDecay}"));
        return errors;
    }
}
