using System.Globalization;

namespace GenCluster.Contracts.Models;

/// <summary>
/// <c>biggan</c>: BigGAN (Brock et al. 2018): a class-conditional residual G with a shared class embedding,
/// hierarchical latents and conditional BatchNorm; a residual projection D; spectral norm in both; hinge loss;
/// Adam(0, 0.999) with D's learning rate four times G's; several D steps per G step; off-diagonal orthogonal
/// regularisation on G; an EMA of G's weights sampled with standing statistics; the truncation trick at sampling time.
/// </summary>
/// <remarks>
/// Paper defaults (the 128×128 ImageNet model, batch 2048): dim_z 120, shared embedding 128, ch 96, G lr 5e-5, D lr
/// 2e-4, β = (0, 0.999), 2 D steps per G step, orthogonal regularisation β 1e-4, EMA decay 0.9999 from step 20,000,
/// attention at 64×64. Here the architecture is BigGAN's at 28×28 (MNIST: 7 → 14 → 28) and 32×32 (CIFAR: 4 → 8 → 16 →
/// 32), the reference's <c>arch[32]</c> layout, with channel multipliers 4, 2, 1 from the lowest resolution up so the
/// full-resolution convolutions stay cheap on CPUs. The global batch is the job spec's <c>globalBatch</c>.
/// </remarks>
[GenerateSerializer, Immutable]
public sealed record BigGanOptions : GanOptions
{
    /// <summary>Kind name.</summary>
    public const string KindName = "biggan";

    /// <summary>Paper defaults.</summary>
    public BigGanOptions()
    {
        LatentDim = 120;
        Width = 96;
        LearningRateG = 5e-5;
        LearningRateD = 2e-4;
        Beta1 = 0;
        Beta2 = 0.999;
        Objective = "hinge";
        DSteps = 2;
        EmaDecay = 0.9999;
        EmaStart = 20_000;
    }

    /// <summary>Size of G's shared class embedding, concatenated to each z chunk as the conditional BatchNorm's input (paper: 128).</summary>
    [Id(0)] public int SharedDim { get; init; } = 128;

    /// <summary>Orthogonal regularisation strength β on G's weights, the reference's <c>G_ortho</c> (paper: 1e-4; 0 = off).</summary>
    [Id(1)] public double OrthogonalRegularization { get; init; } = 1e-4;

    /// <summary>Feature-map side (pixels) at which G and D have a self-attention block; 0 = none (paper: 64 at 128×128). For 28×28 data: 7 or 14; for 32×32: 8 or 16.</summary>
    [Id(2)] public int AttentionResolution { get; init; }

    /// <summary>Residual blocks of D at its lowest resolution, after the downsampling blocks (the reference's <c>arch[32]</c> has 2; depth of D).</summary>
    [Id(3)] public int DBlocksAtBottom { get; init; } = 1;

    /// <summary>Whether z is split into one chunk per G block plus one for the input layer (hierarchical latents, paper: on); off feeds all of z to the input layer and only the class embedding to the BatchNorms.</summary>
    [Id(4)] public bool HierarchicalLatents { get; init; } = true;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override bool Conditional => true;

    /// <inheritdoc />
    public override IReadOnlyList<string> AllowedObjectives => ["hinge", "non-saturating"];

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model")
    {
        var errors = base.Validate(prefix).ToList();
        errors.AddRange(AtLeast(prefix, "sharedDim", SharedDim, 1));
        errors.AddRange(NonNegative(prefix, "orthogonalRegularization", OrthogonalRegularization));
        errors.AddRange(OneOf(prefix, "attentionResolution", AttentionResolution.ToString(CultureInfo.InvariantCulture), ["0", "7", "8", "14", "16"]));
        errors.AddRange(AtLeast(prefix, "dBlocksAtBottom", DBlocksAtBottom, 1));
        if (DBlocksAtBottom > 8) errors.Add(new OptionError($"{prefix}.dBlocksAtBottom", $"must be <= 8, got {DBlocksAtBottom}"));
        return errors;
    }
}
