using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Models;
using GenCluster.Trainer.Objectives;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>Everything a <see cref="GanTrainingSession"/> runs with.</summary>
public sealed record GanSessionSetup
{
    /// <summary>The job's settings (model, batch, cadences, seed).</summary>
    public required JobSpec Spec { get; init; }

    /// <summary>Micro-batches per step this round (<c>Assignment.GradientAccumulation</c>).</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>The job's run directory: <c>checkpoints/</c> and <c>samples/</c> go under it.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>This round's collectives.</summary>
    public required ICollectives Collectives { get; init; }

    /// <summary>Training images.</summary>
    public required ImageDataset Dataset { get; init; }

    /// <summary>Trainer-local settings.</summary>
    public TrainingEngineOptions Engine { get; init; } = new();

    /// <summary>Models to train; null = built from <see cref="Spec"/>. The session owns and disposes them.</summary>
    public GanModels? Models { get; init; }

    /// <summary>Checkpoint to start from (<c>Assignment.ResumeFrom</c>); null = a fresh start.</summary>
    public CheckpointRef? ResumeFrom { get; init; }

    /// <summary>Metrics; null = none.</summary>
    public TrainerInstruments? Instruments { get; init; }

    /// <summary>Clock for throughput and checkpoint timestamps.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Log for round start, resume, skips and checkpoints.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>Progress after one step, identical on every rank.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="Epoch">Sampler epoch.</param>
/// <param name="LossD">D loss averaged over ranks.</param>
/// <param name="LossG">G loss averaged over ranks (NaN when the G update was skipped).</param>
/// <param name="ImagesPerSecond">Real images per second over all ranks for this step.</param>
/// <param name="StepSeconds">Wall time of the step.</param>
/// <param name="Skipped">The step's update was skipped for NaN/Inf.</param>
/// <param name="SkippedTotal">Skipped steps so far in this run (including before a resume).</param>
public sealed record StepProgress(long Step, int Epoch, double LossD, double LossG, double ImagesPerSecond, double StepSeconds, bool Skipped, long SkippedTotal)
{
    /// <summary>The heartbeat form.</summary>
    public TrainingProgress ToTrainingProgress() => new(Step, Epoch, ImagesPerSecond, new Dictionary<string, double>
    {
        ["loss_d"] = LossD,
        ["loss_g"] = LossG,
        ["step_seconds"] = StepSeconds,
        ["skipped_steps"] = SkippedTotal,
    });
}

/// <summary>How <see cref="GanTrainingSession.RunAsync"/> ended.</summary>
public enum SessionOutcome
{
    /// <summary>Reached the target step.</summary>
    Completed,
    /// <summary>Stopped after a checkpoint because a rank asked to (<see cref="GanTrainingSession.RequestCheckpointAndStop"/>).</summary>
    Stopped,
}

/// <summary>Result of a run.</summary>
/// <param name="Outcome">Why it returned.</param>
/// <param name="Step">Steps completed.</param>
/// <param name="LastCheckpoint">The last checkpoint written by this session (rank 0 only; null elsewhere).</param>
/// <param name="SkippedSteps">Skipped steps in total.</param>
public sealed record SessionResult(SessionOutcome Outcome, long Step, CheckpointRef? LastCheckpoint, long SkippedSteps);

/// <summary>
/// Trains a GAN data-parallel from its start step (0, or the resume checkpoint's) to a target step on a dedicated
/// thread: round-start fingerprint check and broadcast, one <see cref="DataParallelGanStep"/> per step, checkpoints
/// and samples on rank 0 at the job's cadence, progress events, and a cooperative checkpoint-and-stop.
/// </summary>
/// <remarks>
/// Every rank must run the same session with the same collectives. Events fire on the training thread. Resuming at
/// step k from a checkpoint reproduces the uninterrupted run (same world size): the checkpoint carries the models,
/// both Adam states, the sampler position and the latent and torch generator states; the sampler's order depends
/// on (seed, epoch) only and carries no other random state.
/// </remarks>
public sealed class GanTrainingSession : IDisposable
{
    /// <summary>Checkpoint file holding the generator's parameters and buffers.</summary>
    public const string GeneratorFile = "generator.bin";
    private const string DiscriminatorFile = "discriminator.bin";
    private const string AdamGFile = "adam-generator.bin";
    private const string AdamDFile = "adam-discriminator.bin";
    private const string NoiseRng = "latent_noise";
    private const string TorchRng = "torch_default";
    private const long SampleSeedOffset = 0x5EED_5A3B;

    private readonly GanSessionSetup _setup;
    private readonly ICollectives _collectives;
    private readonly DataParallelGanStep _step;
    private readonly Generator _noise;
    private readonly Tensor _sampleLatents;
    private readonly CheckpointStore _store;
    private readonly Device _device;
    private readonly JsonElement _optionsSnapshot;
    private int _stopRequested;
    private long _skipped;
    private int _consecutiveSkips;
    private LoadedCheckpoint? _resume;

    /// <summary>Builds the models, optimizers and sampler; loads nothing yet (that happens in <see cref="RunAsync"/>).</summary>
    public GanTrainingSession(GanSessionSetup setup)
    {
        _setup = setup;
        _collectives = setup.Collectives;
        var spec = setup.Spec;
        _device = torch.device(setup.Engine.Device);
        Models = setup.Models ?? GanModels.Create(spec, spec.Seed);
        Models.Generator.to(_device);
        Models.Discriminator.to(_device);
        var objective = GanObjectives.Create(spec.ModelOptions.Objective);
        var sampler = new DistributedSampler(setup.Dataset.Count, _collectives.WorldSize, _collectives.Rank, spec.PerWorkerBatch, spec.Seed);
        _noise = new Generator((ulong)spec.Seed);
        _step = new DataParallelGanStep(Models, objective, _collectives, setup.Dataset, sampler, _noise,
            spec.PerWorkerBatch, setup.GradientAccumulation, spec.ModelOptions, _device, setup.Engine.BucketBytes);
        _sampleLatents = SampleLatents(spec.Seed, setup.Engine.SampleCount, Models.LatentDim);
        _store = new CheckpointStore(Path.Combine(setup.RunDirectory, "checkpoints"), Math.Max(1, spec.KeepCheckpoints), setup.Time);
        _optionsSnapshot = JsonSerializer.SerializeToElement(new
        {
            spec,
            gradient_accumulation = setup.GradientAccumulation,
            world_size = _collectives.WorldSize,
        }, CheckpointManifest.Json);
    }

    /// <summary>The fixed latent batch every sample grid of a job is drawn from (depends on the seed only).</summary>
    public static Tensor SampleLatents(long seed, int count, int latentDim)
    {
        using var sampleGenerator = new Generator((ulong)(seed + SampleSeedOffset));
        return torch.randn([count, latentDim], generator: sampleGenerator);
    }

    /// <summary>Raised after every step (on every rank).</summary>
    public event Action<StepProgress>? StepCompleted;

    /// <summary>Raised on rank 0 after a checkpoint is durable.</summary>
    public event Action<CheckpointRef>? CheckpointWritten;

    /// <summary>Raised on rank 0 after a sample grid is written, with its path.</summary>
    public event Action<string>? SampleWritten;

    /// <summary>Raised on resume when the checkpoint's options differ from the current ones: one readable line per field.</summary>
    public event Action<IReadOnlyList<string>>? OptionsDiffer;

    /// <summary>Raised when a step is skipped for NaN/Inf, with the reason.</summary>
    public event Action<long, string>? StepSkipped;

    /// <summary>The models being trained.</summary>
    public GanModels Models { get; }

    /// <summary>Steps completed.</summary>
    public long Step { get; private set; }

    /// <summary>Sampler epoch.</summary>
    public int Epoch => _step.Sampler.Position.Epoch;

    /// <summary>Where checkpoints go.</summary>
    public CheckpointStore Checkpoints => _store;

    /// <summary>Asks every rank to finish the current step, checkpoint, and return <see cref="SessionOutcome.Stopped"/> (SIGTERM, preemption). Thread-safe.</summary>
    public void RequestCheckpointAndStop() => Interlocked.Exchange(ref _stopRequested, 1);

    /// <summary>Trains until <paramref name="targetStep"/> steps are complete or a stop is agreed.</summary>
    /// <exception cref="NumericalFaultException">Too many consecutive skipped steps: roll back.</exception>
    /// <exception cref="ModelFingerprintMismatchException">The ranks built different models.</exception>
    public Task<SessionResult> RunAsync(long targetStep, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(targetStep, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private SessionResult Run(long targetStep, CancellationToken cancellationToken)
    {
        if (_setup.Engine.Threads > 0) torch.set_num_threads(_setup.Engine.Threads);
        if (_setup.ResumeFrom is { } from) Restore(CheckpointStore.Load(from));
        StartRound(cancellationToken);
        TrainingLog.RoundStarted(_setup.Logger, _collectives.Rank, _collectives.WorldSize, Step);

        CheckpointRef? last = null;
        var globalImages = (double)_collectives.WorldSize * _setup.Spec.PerWorkerBatch * _setup.GradientAccumulation;
        while (Step < targetStep)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = _setup.Time.GetTimestamp();
            var outcome = _step.Run(Volatile.Read(ref _stopRequested) != 0, cancellationToken);
            Step++;
            var seconds = _setup.Time.GetElapsedTime(started).TotalSeconds;
            if (outcome.AllReduceBytes > 0) _setup.Instruments?.AllReduced(outcome.AllReduceSeconds, outcome.AllReduceBytes);
            if (outcome.Skipped)
            {
                _skipped++;
                _consecutiveSkips++;
                _setup.Instruments?.StepSkipped();
                TrainingLog.StepSkipped(_setup.Logger, Step, _consecutiveSkips, outcome.SkipReason!);
                StepSkipped?.Invoke(Step, outcome.SkipReason!);
                if (_consecutiveSkips >= _setup.Engine.MaxConsecutiveSkips)
                    throw new NumericalFaultException(Step, _consecutiveSkips, outcome.SkipReason!);
            }
            else
            {
                _consecutiveSkips = 0;
            }
            var imagesPerSecond = seconds > 0 ? globalImages / seconds : 0;
            _setup.Instruments?.StepCompleted(seconds, imagesPerSecond, outcome.LossD, outcome.LossG);
            StepCompleted?.Invoke(new StepProgress(Step, Epoch, outcome.LossD, outcome.LossG, imagesPerSecond, seconds, outcome.Skipped, _skipped));

            var done = Step >= targetStep;
            if (Due(_setup.Spec.SampleEvery, done)) WriteSample(cancellationToken);
            if (Due(_setup.Spec.CheckpointEvery, done) || outcome.StopRequested)
                last = WriteCheckpoint(cancellationToken) ?? last;
            if (outcome.StopRequested && !done)
            {
                TrainingLog.Stopped(_setup.Logger, Step);
                return new SessionResult(SessionOutcome.Stopped, Step, last, _skipped);
            }
        }
        return new SessionResult(SessionOutcome.Completed, Step, last, _skipped);
    }

    private bool Due(int every, bool done) => done || (every > 0 && Step % every == 0);

    private void StartRound(CancellationToken cancellationToken)
    {
        ModelFingerprint.VerifyAcrossRanksAsync(_collectives, "generator", Models.Generator, cancellationToken).GetAwaiter().GetResult();
        ModelFingerprint.VerifyAcrossRanksAsync(_collectives, "discriminator", Models.Discriminator, cancellationToken).GetAwaiter().GetResult();
        ModelStateSync.BroadcastParametersAndBuffersAsync(_collectives, Models.Generator, cancellationToken).GetAwaiter().GetResult();
        ModelStateSync.BroadcastParametersAndBuffersAsync(_collectives, Models.Discriminator, cancellationToken).GetAwaiter().GetResult();
    }

    private void SyncBuffers(CancellationToken cancellationToken)
    {
        ModelStateSync.BroadcastBuffersAsync(_collectives, Models.Generator, cancellationToken).GetAwaiter().GetResult();
        ModelStateSync.BroadcastBuffersAsync(_collectives, Models.Discriminator, cancellationToken).GetAwaiter().GetResult();
    }

    private void WriteSample(CancellationToken cancellationToken)
    {
        SyncBuffers(cancellationToken);
        if (_collectives.Rank != 0) return;
        using var scope = NewDisposeScope();
        var g = Models.Generator;
        g.eval();
        try
        {
            using var noGrad = torch.no_grad();
            var images = g.forward(_sampleLatents.to(_device));
            var (width, height, pixels) = SampleGrid.Render(images, columns: 8);
            var path = Path.Combine(_setup.RunDirectory, "samples", CheckpointStore.DirectoryName(Step) + ".png");
            PngWriter.WriteGrayscale(path, width, height, pixels);
            SampleWritten?.Invoke(path);
        }
        finally
        {
            g.train();
        }
    }

    private CheckpointRef? WriteCheckpoint(CancellationToken cancellationToken)
    {
        SyncBuffers(cancellationToken);
        if (_collectives.Rank != 0) return null;
        var started = Stopwatch.GetTimestamp();
        var position = _step.Sampler.Position;
        var manifest = new CheckpointManifest
        {
            Step = Step,
            Epoch = position.Epoch,
            SamplerBatch = position.Batch,
            WorldSize = _collectives.WorldSize,
            PerWorkerBatch = _setup.Spec.PerWorkerBatch,
            SkippedSteps = _skipped,
            RngStates = new Dictionary<string, string>
            {
                [NoiseRng] = StateToBase64(_noise.get_state()),
                [TorchRng] = StateToBase64(torch.get_rng_state()),
            },
            Options = _optionsSnapshot,
        };
        var files = new Dictionary<string, Action<Stream>>
        {
            [GeneratorFile] = s => WithWriter(s, w => Models.Generator.save(w)),
            [DiscriminatorFile] = s => WithWriter(s, w => Models.Discriminator.save(w)),
            [AdamGFile] = s => WithWriter(s, _step.OptimizerG.save_state_dict),
            [AdamDFile] = s => WithWriter(s, _step.OptimizerD.save_state_dict),
        };
        var saved = _store.Save(manifest, files);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        _setup.Instruments?.CheckpointWritten(seconds);
        TrainingLog.CheckpointWritten(_setup.Logger, Step, saved.Directory, seconds);
        var reference = saved.ToRef();
        CheckpointWritten?.Invoke(reference);
        return reference;
    }

    private void Restore(LoadedCheckpoint checkpoint)
    {
        _resume = checkpoint;
        var m = checkpoint.Manifest;
        var differences = OptionsDiff.Compare(m.Options, _optionsSnapshot);
        if (differences.Count > 0)
        {
            TrainingLog.OptionsDiffer(_setup.Logger, checkpoint.Directory, string.Join("; ", differences));
            OptionsDiffer?.Invoke(differences);
        }

        WithReader(checkpoint.PathOf(GeneratorFile), r => Models.Generator.load(r));
        WithReader(checkpoint.PathOf(DiscriminatorFile), r => Models.Discriminator.load(r));
        WithReader(checkpoint.PathOf(AdamGFile), _step.OptimizerG.load_state_dict);
        WithReader(checkpoint.PathOf(AdamDFile), _step.OptimizerD.load_state_dict);
        using (var noiseState = StateFromBase64(m, NoiseRng, checkpoint.Directory))
            _noise.set_state(noiseState);
        using (var torchState = StateFromBase64(m, TorchRng, checkpoint.Directory))
            torch.set_rng_state(torchState);

        var batch = m.SamplerBatch;
        var spec = _setup.Spec;
        if (m.WorldSize != _collectives.WorldSize || m.PerWorkerBatch != spec.PerWorkerBatch)
        {
            // Keep the number of examples consumed in the epoch when the round's geometry changed.
            var consumed = m.SamplerBatch * m.WorldSize * m.PerWorkerBatch;
            batch = consumed / ((long)_collectives.WorldSize * spec.PerWorkerBatch);
        }
        var sampler = _step.Sampler;
        sampler.Seek(new SamplerPosition(m.Epoch, Math.Min(batch, sampler.BatchesPerEpoch)));
        Step = m.Step;
        _skipped = m.SkippedSteps;
        TrainingLog.Resumed(_setup.Logger, checkpoint.Directory, Step, m.Epoch, sampler.Position.Batch);
    }

    /// <summary>The checkpoint this session resumed from, if any.</summary>
    public CheckpointRef? ResumedFrom => _resume?.ToRef();

    /// <inheritdoc />
    public void Dispose()
    {
        _step.Dispose();
        _sampleLatents.Dispose();
        _noise.Dispose();
        Models.Dispose();
    }

    private static void WithWriter(Stream stream, Action<BinaryWriter> write)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        write(writer);
        writer.Flush();
    }

    private static void WithReader(string path, Action<BinaryReader> read)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: false);
        read(reader);
    }

    private static string StateToBase64(Tensor state)
    {
        using (state)
            return Convert.ToBase64String(state.bytes);
    }

    private static Tensor StateFromBase64(CheckpointManifest manifest, string name, string directory)
    {
        if (!manifest.RngStates.TryGetValue(name, out var base64))
            throw new CheckpointCorruptException(directory, $"manifest lacks the '{name}' random generator state");
        try
        {
            return torch.tensor(Convert.FromBase64String(base64), ScalarType.Byte);
        }
        catch (FormatException ex)
        {
            throw new CheckpointCorruptException(directory, $"a random generator state is not valid base64: {ex.Message}");
        }
    }
}
