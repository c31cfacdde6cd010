using GenCluster.Contracts.Workers;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Silo.Local;

/// <summary>What <c>gencluster local</c> runs: a silo and N trainer processes on this machine, and one job.</summary>
public sealed record LocalRunOptions
{
    /// <summary>Model kind (<c>--model</c>).</summary>
    public string Model { get; init; } = "dcgan";

    /// <summary>Further model options as <c>name=value</c> (<c>--set</c>, repeatable).</summary>
    public IReadOnlyList<string> ModelSettings { get; init; } = [];

    /// <summary>Score the final model's samples at the end (<c>--evaluate</c>).</summary>
    public bool Evaluate { get; init; } = true;

    /// <summary>Data set (<c>--dataset</c>): <c>mnist</c>, or the path of an image folder or CIFAR-10 binary batches.</summary>
    public string Dataset { get; init; } = JobSpec.Mnist;

    /// <summary>Side of the training images, 0 = the data's own (<c>--image-size</c>).</summary>
    public int ImageSize { get; init; }

    /// <summary>Channels of the training images, 0 = the data's own, 1 grey, 3 RGB (<c>--channels</c>).</summary>
    public int Channels { get; init; }

    /// <summary>Trainer processes (<c>--workers</c>).</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Optimizer steps (<c>--steps</c>).</summary>
    public long Steps { get; init; } = 2000;

    /// <summary>Images per worker per step (<c>--batch</c>).</summary>
    public int PerWorkerBatch { get; init; } = 32;

    /// <summary>Images per optimiser step over all trainers (<c>--global-batch</c>); 0 = per-worker batch × workers. A multiple of that product: the rest is gradient accumulation.</summary>
    public int GlobalBatch { get; init; }

    /// <summary>Base channel width of G and D (<c>--width</c>); 0 = the model kind's default.</summary>
    public int Width { get; init; } = 32;

    /// <summary>Use only the first N images, 0 = all (<c>--dataset-limit</c>).</summary>
    public int DatasetLimit { get; init; }

    /// <summary>Checkpoint cadence in steps (<c>--checkpoint-every</c>).</summary>
    public int CheckpointEvery { get; init; } = 200;

    /// <summary>Sample-grid cadence in steps (<c>--sample-every</c>).</summary>
    public int SampleEvery { get; init; } = 200;

    /// <summary>Gradient encoding on the ring, <c>fp32</c> or <c>bf16</c> (<c>--gradient-transfer</c>).</summary>
    public string GradientTransfer { get; init; } = "fp32";

    /// <summary>Whether trainers all-reduce gradients during backward (<c>--overlap</c>): auto (where each has a spare core), on or off.</summary>
    public string Overlap { get; init; } = "auto";

    /// <summary>Shard the optimiser state over the workers, ZeRO-1 (<c>--shard-optimizer</c>; GAN kinds with Adam).</summary>
    public bool ShardOptimizer { get; init; }

    /// <summary>Seed (<c>--seed</c>).</summary>
    public long Seed { get; init; } = 1;

    /// <summary>
    /// Bind each trainer's threads to its own block of the cores (<c>--bind-cores</c>): off (default), auto (where there
    /// are several trainers and a core for each, <see cref="CoreShare.BindsByDefault"/>) or on. Off by default: on a 2-core
    /// machine, bound ranks had the lower overhead at width 32, and at width 64 sometimes the higher (README, "Measured").
    /// </summary>
    public string BindCores { get; init; } = "off";

    /// <summary>TorchSharp threads per trainer, 0 = share this machine's cores (<c>--threads</c>).</summary>
    public int Threads { get; init; }

    /// <summary>Where job runs go (<c>--runs-dir</c>).</summary>
    public string RunsDirectory { get; init; } = "runs";

    /// <summary>Where data sets are kept (<c>--data-dir</c>).</summary>
    public string DataDirectory { get; init; } = "data";

    /// <summary>Trainer assembly, empty = found automatically (<c>--trainer</c>).</summary>
    public string TrainerPath { get; init; } = "";

    /// <summary>Seconds trainers get to checkpoint and leave on Ctrl+C (<c>--grace-seconds</c>).</summary>
    public double GraceSeconds { get; init; } = 30;

    /// <summary>Problems, each naming its flag; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Workers is < 1 or > 8) errors.Add($"--workers must be 1..8 on one machine (got {Workers})");
        if (!OverlapModes.All.Contains(Overlap)) errors.Add($"--overlap must be auto, on or off (got '{Overlap}')");
        if (Steps < 1) errors.Add($"--steps must be >= 1 (got {Steps})");
        if (PerWorkerBatch < 1) errors.Add($"--batch must be >= 1 (got {PerWorkerBatch})");
        if (GlobalBatch < 0) errors.Add($"--global-batch must be >= 0 (got {GlobalBatch})");
        else if (GlobalBatch > 0 && PerWorkerBatch >= 1 && Workers >= 1 && GlobalBatch % ((long)PerWorkerBatch * Workers) != 0)
            errors.Add($"--global-batch must be a multiple of --batch × --workers ({PerWorkerBatch} × {Workers} = {PerWorkerBatch * Workers}) so each step accumulates whole micro-batches (got {GlobalBatch})");
        if (Width != 0 && Width is < 4 or > 512) errors.Add($"--width must be 0 (the model's default) or 4..512 (got {Width})");
        else errors.AddRange(ModelChoice.Build(Model, Width, ModelSettings).Errors);
        if (Dataset != JobSpec.Mnist && !File.Exists(Dataset) && !Directory.Exists(Dataset))
            errors.Add($"--dataset must be 'mnist' or the path of an image folder or CIFAR-10 batches; nothing exists at {Path.GetFullPath(Dataset)}");
        if (DatasetLimit < 0) errors.Add($"--dataset-limit must be >= 0 (got {DatasetLimit})");
        if (CheckpointEvery < 0) errors.Add($"--checkpoint-every must be >= 0 (got {CheckpointEvery})");
        if (SampleEvery < 0) errors.Add($"--sample-every must be >= 0 (got {SampleEvery})");
        if (Threads < 0) errors.Add($"--threads must be >= 0 (got {Threads})");
        if (BindCores is not ("auto" or "on" or "off")) errors.Add($"--bind-cores must be auto, on or off (got '{BindCores}')");
        if (GraceSeconds <= 0) errors.Add($"--grace-seconds must be > 0 (got {GraceSeconds})");
        return errors;
    }

    /// <summary>TorchSharp threads each trainer gets: the explicit value, or the cores shared out (at least 1).</summary>
    public int ThreadsPerTrainer(int processorCount) => Threads > 0 ? Threads : ThreadBudget.ComputeThreads(processorCount, Workers);

    /// <summary>The <c>--cpu-slot</c> of trainer <paramref name="index"/> on <paramref name="processorCount"/> cores; null when trainers are not bound.</summary>
    public string? CpuSlot(int index, int processorCount) =>
        BindCores == "on" || (BindCores == "auto" && CoreShare.BindsByDefault(processorCount, Workers)) ? CoreShare.FormatSlot(index, Workers) : null;

    /// <summary>The job this run submits (gang of exactly <see cref="Workers"/>); a dataset path goes in absolute, as trainers run elsewhere.</summary>
    public JobSpec ToJobSpec(string runsDirectory)
    {
        var (model, errors) = ModelChoice.Build(Model, Width, ModelSettings);
        var dataset = Dataset == JobSpec.Mnist ? Dataset : Path.TrimEndingDirectorySeparator(Path.GetFullPath(Dataset));
        return new JobSpec
        {
            Name = $"local-{Model}-{Path.GetFileName(dataset)}",
            Model = model ?? throw new InvalidOperationException($"the model flags are not valid: {string.Join("; ", errors)}"),
            Dataset = dataset,
            DatasetLimit = DatasetLimit,
            ImageSize = ImageSize,
            Channels = Channels,
            Evaluate = Evaluate,
            PerWorkerBatch = PerWorkerBatch,
            GlobalBatch = GlobalBatch,
            Steps = Steps,
            MinWorkers = Workers,
            MaxWorkers = Workers,
            CheckpointEvery = CheckpointEvery,
            SampleEvery = SampleEvery,
            Seed = Seed,
            GradientTransfer = GradientTransfer,
            ShardOptimizer = ShardOptimizer,
            RunsDirectory = runsDirectory,
        };
    }
}
