using GenCluster.Contracts.Models;

namespace GenCluster.Contracts.Jobs;

/// <summary>What a user submits: the model, the data, the batch geometry, the gang size and the checkpoint cadence.</summary>
/// <remarks>Validation lives in the grains' <c>JobSpecValidator</c>; every field has a default that makes a valid job.</remarks>
[GenerateSerializer, Immutable]
public sealed record JobSpec
{
    /// <summary>Human-readable name; the job id is generated.</summary>
    [Id(0)] public string Name { get; init; } = "job";

    /// <summary>
    /// The model kind and its options (one record per kind, see <see cref="ModelCatalog"/>). JSON: <c>"dcgan"</c> or
    /// <c>{"kind": "wgan-gp", "dSteps": 5}</c>; options left out keep the kind's paper defaults.
    /// </summary>
    [Id(21)] public ModelOptions Model { get; init; } = new DcganOptions();

    /// <summary>
    /// Data set: <c>mnist</c>, or the path (as the trainers see it; the CLI makes it absolute) of an image folder
    /// (one sub-folder of PNG/JPEG images per class) or of CIFAR-10 binary batches (a <c>.bin</c> file or a directory
    /// with <c>data_batch_*.bin</c>).
    /// </summary>
    [Id(3)] public string Dataset { get; init; } = Mnist;

    /// <summary>The <see cref="Dataset"/> value that names MNIST rather than a path.</summary>
    public const string Mnist = "mnist";

    /// <summary>Use only the first N training images (0 = all). Handy for smoke runs.</summary>
    [Id(4)] public int DatasetLimit { get; init; }

    /// <summary>
    /// Side of the square training images (0 = the data's own: 28 for MNIST, 32 for CIFAR-10 and image folders).
    /// Image-folder images are scaled (shorter side) and centre-cropped to it; MNIST and CIFAR-10 have fixed sizes.
    /// </summary>
    [Id(23)] public int ImageSize { get; init; }

    /// <summary>Colour channels of the training images: 0 = the data's own (1 for MNIST, 3 otherwise), 1 = grey, 3 = RGB.</summary>
    [Id(24)] public int Channels { get; init; }

    /// <summary>Images per worker per micro-batch.</summary>
    [Id(5)] public int PerWorkerBatch { get; init; } = 64;

    /// <summary>Images per optimizer step over all workers (0 = per-worker batch × world size × accumulation).</summary>
    /// <remarks>When set, gradient accumulation is derived per round so the global batch stays fixed when the world size changes.</remarks>
    [Id(6)] public int GlobalBatch { get; init; }

    /// <summary>Micro-batches per optimizer step when <see cref="GlobalBatch"/> is 0.</summary>
    [Id(7)] public int GradientAccumulation { get; init; } = 1;

    /// <summary>Optimizer steps to train.</summary>
    [Id(8)] public long Steps { get; init; } = 2000;

    /// <summary>Fewest workers a round may run with.</summary>
    [Id(9)] public int MinWorkers { get; init; } = 1;

    /// <summary>Most workers a round may use.</summary>
    [Id(10)] public int MaxWorkers { get; init; } = 1;

    /// <summary>Higher runs first and may preempt lower.</summary>
    [Id(11)] public int Priority { get; init; }

    /// <summary>Write a checkpoint every N steps (0 = only at the end).</summary>
    [Id(12)] public int CheckpointEvery { get; init; } = 500;

    /// <summary>How many recent checkpoints to keep.</summary>
    [Id(13)] public int KeepCheckpoints { get; init; } = 3;

    /// <summary>Write a sample grid every N steps (0 = only at the end).</summary>
    [Id(14)] public int SampleEvery { get; init; } = 500;

    /// <summary>Seed for initialisation, data order and latent noise.</summary>
    [Id(15)] public long Seed { get; init; } = 1;

    /// <summary>Device kind for the trainers: <c>cpu</c> or <c>cuda</c>; each trainer picks its own index.</summary>
    [Id(16)] public string Device { get; init; } = "cpu";

    /// <summary>Restarts after failures before the job fails.</summary>
    [Id(17)] public int RestartBudget { get; init; } = 10;

    /// <summary>Preemptions (SIGTERM, scheduler) tolerated; they do not count as failures.</summary>
    [Id(18)] public int PreemptionBudget { get; init; } = 100;

    /// <summary>Directory (shared by all trainers) under which <c>&lt;job&gt;/checkpoints</c> and <c>samples</c> go; empty = the silo's default.</summary>
    [Id(19)] public string RunsDirectory { get; init; } = "";

    /// <summary>
    /// How the ring carries gradients: <c>fp32</c> (the default, exact) or <c>bf16</c> (half the bytes; each value
    /// rounded to 8 significant bits, relative error at most 2^-8 per rounding). Every rank of the job uses it.
    /// </summary>
    [Id(20)] public string GradientTransfer { get; init; } = "fp32";

    /// <summary>
    /// Shards the optimiser state over the round (ZeRO stage 1): each rank keeps Adam's moments only for its
    /// 1/world-size share of the parameters, updates that share on reduce-scattered gradients and all-gathers the
    /// updated parameters, so optimiser memory per rank falls by the world size for the same bytes on the wire.
    /// Checkpoints still hold the whole state. GAN kinds with Adam only so far (<see cref="OptimizerSharding"/>);
    /// off by default.
    /// </summary>
    [Id(25)] public bool ShardOptimizer { get; init; }

    /// <summary>
    /// When set, rank 0 scores samples of the final model with the project's classifier-feature Fréchet distance
    /// (<c>gencluster evaluate</c>) at the end of the job; the figures go to the job status, the step journal's
    /// directory and the trainer's metrics.
    /// </summary>
    [Id(22)] public bool Evaluate { get; init; }
}
