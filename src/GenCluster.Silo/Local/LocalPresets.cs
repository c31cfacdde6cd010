namespace GenCluster.Silo.Local;

/// <summary>
/// What <c>gencluster local --model &lt;kind&gt;</c> runs when the length, batch, width and options are not given: a
/// recipe per kind sized to finish in about ten minutes on a 2-core machine with two trainers. The kinds' own defaults
/// stay the papers'; a preset names every departure from them, and every flag overrides it.
/// </summary>
/// <param name="Steps">Generator steps.</param>
/// <param name="PerWorkerBatch">Images per trainer per micro-batch.</param>
/// <param name="Width">Base width.</param>
/// <param name="Settings">Model options as <c>name=value</c>, applied before any <c>--set</c>.</param>
/// <param name="GlobalBatch">Images per optimiser step over all trainers; 0 = no accumulation.</param>
public sealed record LocalPreset(long Steps, int PerWorkerBatch, int Width, IReadOnlyList<string> Settings, int GlobalBatch = 0)
{
    /// <summary>Checkpoint and sample-grid cadence: ten of each over the run.</summary>
    public int Cadence => (int)Math.Max(1, Steps / 10);
}

/// <summary>The presets by kind.</summary>
public static class LocalPresets
{
    /// <summary>The preset of <paramref name="kind"/>, or null (the flags' plain defaults apply).</summary>
    public static LocalPreset? For(string kind) => kind switch
    {
        // MLPs step in a few milliseconds: many steps fit.
        "gan" => new LocalPreset(6_000, 32, 256, []),
        "cgan" => new LocalPreset(6_000, 32, 256, []),
        // DCGAN at twice the paper's learning rate: on MNIST it reaches in 3,000 steps what 2e-4 reaches in about 7,000.
        "dcgan" => new LocalPreset(7_000, 32, 32, ["learningRateG=4e-4", "learningRateD=4e-4"]),
        // Five critic steps per generator step (and WGAN-GP's double backward): few generator steps fit.
        "wgan" => new LocalPreset(1_000, 32, 32, []),
        "wgan-gp" => new LocalPreset(800, 32, 32, []),
        "sngan" => new LocalPreset(6_000, 32, 32, []),
        // Attention and spectral norm on every layer of G and D make its step about three times DCGAN's.
        "sagan" => new LocalPreset(2_000, 32, 32, []),
        // BigGAN's large batch by accumulation (2 trainers × 64 × 2 micro-batches), narrow enough for CPUs. Departures,
        // sized for a run of hundreds of steps rather than the paper's hundreds of thousands: learning rates 2e-4/4e-4,
        // one D step, an EMA over the last few hundred steps; and no hierarchical latents (the reference's default): at
        // width 16 the z chunks dominate the conditional BatchNorm gains and the class barely reaches the image.
        "biggan" => new LocalPreset(BigGanSteps, 64, 16, BigGanSettings, GlobalBatch: 256),
        "vae" => new LocalPreset(3_000, 64, 32, []),
        "vqvae" => new LocalPreset(1_500, 32, 64, VqVaeSettings),
        // VQ-VAE-2: 1,200 autoencoder steps, then 4,000 prior steps (cosine-annealed, sampled from their weights' EMA).
        // Departures, for CPUs: width 64, 128 codes per level, dead codes restarted below 5 vectors per step, and priors
        // far smaller than the paper's PixelSNAIL — a gated PixelCNN of 8 layers × 96 channels over the top codes, where
        // the digit's shape is decided, and 4 × 32 over the bottom codes, which given the top carry under a bit per code
        // and are sampled at temperature 0.5 (sharper strokes: FID 12.2 against 14.9 at 1.0, 2,000 samples).
        "vqvae2" => new LocalPreset(VqVae2Steps, 32, 64, VqVae2Settings),
        _ => null,
    };

    private static readonly IReadOnlyList<string> VqVaeSettings = ["codebookSize=128"];

    private const long VqVae2Steps = 5_200;

    private static readonly IReadOnlyList<string> VqVae2Settings =
    [
        "width=64", "codebookSize=128", "deadCodeThreshold=5", "priorSteps=4000",
        "priorWidth=96", "priorLayers=8", "priorKernel=3", "bottomPriorWidth=32", "bottomPriorLayers=4", "priorLearningRate=1e-3",
        "bottomPriorTemperature=0.5",
    ];

    private const long BigGanSteps = 1_800;

    private static readonly IReadOnlyList<string> BigGanSettings =
        ["learningRateG=2e-4", "learningRateD=4e-4", "dSteps=1", "emaDecay=0.995", "emaStart=1200", "hierarchicalLatents=false"];
}
