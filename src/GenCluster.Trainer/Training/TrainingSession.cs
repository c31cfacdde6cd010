using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Recipes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>Everything a <see cref="TrainingSession"/> runs with.</summary>
public sealed record SessionSetup
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

    /// <summary>Ranks of the round on this trainer's host, itself included (they share its cores: <see cref="OverlapPolicy"/>).</summary>
    public int RanksOnHost { get; init; } = 1;

    /// <summary>The recipe to train; null = the registry's recipe for <c>Spec.Model</c>. The session owns and disposes it.</summary>
    public ITrainingRecipe? Recipe { get; init; }

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
/// <param name="Metrics">The recipe's metrics averaged over ranks, in <see cref="ITrainingRecipe.MetricNames"/> order (NaN where a rank had none).</param>
/// <param name="ImagesPerSecond">Real images per second over all ranks for this step.</param>
/// <param name="StepSeconds">Wall time of the step.</param>
/// <param name="Skipped">The step's update was skipped for NaN/Inf.</param>
/// <param name="SkippedTotal">Skipped steps so far in this run (including before a resume).</param>
/// <param name="ComputeSeconds">This rank's own work per step (wall time less collectives), mean of the last <see cref="TrainingSession.ComputeWindow"/> steps.</param>
/// <param name="RoundStepSeconds">Wall time of this round's steps so far (not counting checkpoints and sample grids).</param>
public sealed record StepProgress(long Step, int Epoch, IReadOnlyList<KeyValuePair<string, double>> Metrics, double ImagesPerSecond, double StepSeconds, bool Skipped, long SkippedTotal,
    double ComputeSeconds = double.NaN, double RoundStepSeconds = double.NaN)
{

    /// <summary>A metric by name, or NaN.</summary>
    public double Metric(string name) => Metrics.FirstOrDefault(m => m.Key == name) is { Key: not null } m ? m.Value : double.NaN;

    /// <summary>The heartbeat form.</summary>
    public TrainingProgress ToTrainingProgress()
    {
        var metrics = Metrics.ToDictionary(m => m.Key, m => m.Value);
        metrics["step_seconds"] = StepSeconds;
        metrics["skipped_steps"] = SkippedTotal;
        if (double.IsFinite(ComputeSeconds)) metrics[RankTiming.ComputeSecondsMetric] = ComputeSeconds;
        if (double.IsFinite(RoundStepSeconds)) metrics[JobGoodput.RoundStepSecondsMetric] = RoundStepSeconds;
        return new TrainingProgress(Step, Epoch, ImagesPerSecond, metrics);
    }
}

/// <summary>How <see cref="TrainingSession.RunAsync"/> ended.</summary>
public enum SessionOutcome
{
    /// <summary>Reached the target step.</summary>
    Completed,
    /// <summary>Stopped after a checkpoint because a rank asked to (<see cref="TrainingSession.RequestCheckpointAndStop"/>).</summary>
    Stopped,
}

/// <summary>Result of a run.</summary>
/// <param name="Outcome">Why it returned.</param>
/// <param name="Step">Steps completed.</param>
/// <param name="LastCheckpoint">The last checkpoint written by this session (rank 0 only; null elsewhere).</param>
/// <param name="SkippedSteps">Skipped steps in total.</param>
public sealed record SessionResult(SessionOutcome Outcome, long Step, CheckpointRef? LastCheckpoint, long SkippedSteps);

/// <summary>
/// The training cadence, the same for every model family: trains a recipe data-parallel from its start step (0, or
/// the resume checkpoint's) to a target step on a dedicated thread — round-start fingerprint check and broadcast, one
/// <see cref="ITrainingRecipe.Step"/> per step, agreement on metrics, NaN skips and stop requests, checkpoints and
/// sample grids on rank 0 at the job's cadence, progress events.
/// </summary>
/// <remarks>
/// Every rank must run the same session with the same collectives. Events fire on the training thread. Resuming at
/// step k from a checkpoint reproduces the uninterrupted run (same world size): the checkpoint carries every network,
/// every optimiser state, the sampler position and the noise and torch generator states.
/// </remarks>
public sealed class TrainingSession : IDisposable
{
    private const string NoiseRngPrefix = "noise_";
    private const string TorchRng = "torch_default";
    private const long SampleSeedOffset = 0x5EED_5A3B;
    private const int GridColumns = 8;

    private readonly SessionSetup _setup;
    private readonly ICollectives _collectives;
    private readonly NoiseStreams _noise;
    private readonly CheckpointStore _store;
    private readonly Device _device;
    private readonly JsonElement _optionsSnapshot;
    private int _stopRequested;
    private long _skipped;
    private int _consecutiveSkips;
    private readonly Queue<double> _recentCompute = new();
    private double _roundStepSeconds;

    /// <summary>Steps the reported compute time is averaged over.</summary>
    public const int ComputeWindow = 20;
    private LoadedCheckpoint? _resume;
    private readonly IReadOnlyList<TrainingStage> _stages;

    /// <summary>Builds the recipe (networks, optimisers) and sampler; loads nothing yet (that happens in <see cref="RunAsync"/>).</summary>
    public TrainingSession(SessionSetup setup)
    {
        _setup = setup;
        _collectives = setup.Collectives;
        var spec = setup.Spec;
        _device = torch.device(setup.Engine.Device);
        Recipe = setup.Recipe ?? RecipeRegistry.Create(spec.Model, new RecipeSetup
        {
            Seed = spec.Seed,
            Device = _device,
            Channels = setup.Dataset.Channels,
            Height = setup.Dataset.Height,
            Width = setup.Dataset.Width,
            Classes = setup.Dataset.Classes,
            BucketBytes = setup.Engine.BucketBytes,
            OverlapBackward = OverlapPolicy.Overlaps(setup.Engine.OverlapBackward, Environment.ProcessorCount, setup.Engine.Threads, setup.RanksOnHost),
            WorldSize = _collectives.WorldSize,
            Rank = _collectives.Rank,
            ShardOptimizer = spec.ShardOptimizer,
        });
        Sampler = new DistributedSampler(setup.Dataset.Count, _collectives.WorldSize, _collectives.Rank, spec.PerWorkerBatch, spec.Seed);
        _noise = new NoiseStreams(spec.Seed);
        _stages = spec.Model.Stages(spec.Steps);
        _store = new CheckpointStore(Path.Combine(setup.RunDirectory, "checkpoints"), Math.Max(1, spec.KeepCheckpoints), setup.Time);
        _optionsSnapshot = JsonSerializer.SerializeToElement(new
        {
            spec,
            gradient_accumulation = setup.GradientAccumulation,
            world_size = _collectives.WorldSize,
        }, CheckpointManifest.Json);
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

    /// <summary>The recipe being trained.</summary>
    public ITrainingRecipe Recipe { get; }

    /// <summary>The data order.</summary>
    public DistributedSampler Sampler { get; }

    /// <summary>Steps completed.</summary>
    public long Step { get; private set; }

    /// <summary>Sampler epoch.</summary>
    public int Epoch => Sampler.Position.Epoch;

    /// <summary>The stage the next step belongs to (the last stage once training is done).</summary>
    public TrainingStage Stage => TrainingStage.At(_stages, Step);

    /// <summary>Bytes of optimiser state this rank holds (all the recipe's optimisers; a share of them where they are sharded).</summary>
    public long OptimizerStateBytes => Recipe.Optimizers.Sum(o => o.State.StateBytes);

    /// <summary>Where checkpoints go.</summary>
    public CheckpointStore Checkpoints => _store;

    /// <summary>The checkpoint this session resumed from, if any.</summary>
    public CheckpointRef? ResumedFrom => _resume?.ToRef();

    /// <summary>The seed of every sample grid of a job (depends on the job seed only, so grids are comparable over time).</summary>
    public static long SampleSeed(long jobSeed) => jobSeed + SampleSeedOffset;

    /// <summary>The request a job's sample grids are drawn with: the EMA generator where the recipe keeps one, one row per class for conditional models.</summary>
    public static SampleRequest GridRequest(long jobSeed, int count, int classes) =>
        new(classes > 0 ? classes * GridColumns : count, Ema: true, Seed: SampleSeed(jobSeed));

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
        var spec = _setup.Spec;
        var globalImages = (double)_collectives.WorldSize * spec.PerWorkerBatch * _setup.GradientAccumulation;
        _setup.Instruments?.RoundStarted((long)globalImages, spec.PerWorkerBatch, _setup.GradientAccumulation);
        _setup.Instruments?.OptimizerStateHeld(OptimizerStateBytes);
        while (Step < targetStep)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = _setup.Time.GetTimestamp();
            var context = new StepContext(_collectives, _setup.Dataset, Sampler, _noise, spec.PerWorkerBatch,
                _setup.GradientAccumulation, _device, Step, cancellationToken, Stage);
            using (torch.NewDisposeScope())
            {
                Recipe.Step(context);
            }
            var agreeing = _setup.Time.GetTimestamp();
            var (metrics, stop) = Agree(context, Volatile.Read(ref _stopRequested) != 0, cancellationToken);
            Step++;
            var seconds = _setup.Time.GetElapsedTime(started).TotalSeconds;
            var compute = Math.Max(0, seconds - _setup.Time.GetElapsedTime(agreeing).TotalSeconds - context.AllReduceSeconds - context.SyncBatchNormSeconds);
            _roundStepSeconds += seconds;
            if (_recentCompute.Count == ComputeWindow) _recentCompute.Dequeue();
            _recentCompute.Enqueue(compute);
            if (context.AllReduceBytes > 0) _setup.Instruments?.AllReduced(context.AllReduceSeconds, context.AllReduceBytes, _collectives.WorldSize);
            if (context.SyncBatchNormBytes > 0) _setup.Instruments?.BatchNormSynchronised(context.SyncBatchNormSeconds, context.SyncBatchNormBytes);
            var skipped = context.SkipReason is not null;
            if (skipped)
            {
                _skipped++;
                _consecutiveSkips++;
                _setup.Instruments?.StepSkipped();
                TrainingLog.StepSkipped(_setup.Logger, Step, _consecutiveSkips, context.SkipReason!);
                StepSkipped?.Invoke(Step, context.SkipReason!);
                if (_consecutiveSkips >= _setup.Engine.MaxConsecutiveSkips)
                    throw new NumericalFaultException(Step, _consecutiveSkips, context.SkipReason!);
            }
            else
            {
                _consecutiveSkips = 0;
            }
            var imagesPerSecond = seconds > 0 ? globalImages / seconds : 0;
            _setup.Instruments?.StepCompleted(seconds, compute, imagesPerSecond, metrics);
            StepCompleted?.Invoke(new StepProgress(Step, Epoch, metrics, imagesPerSecond, seconds, skipped, _skipped, _recentCompute.Average(), _roundStepSeconds));

            var done = Step >= targetStep;
            // A stage's last step always samples and checkpoints: the next stage starts from that checkpoint.
            var stageEnd = !done && _stages.Take(_stages.Count - 1).Any(s => s.EndStep == Step);
            if (stageEnd) TrainingLog.StageFinished(_setup.Logger, context.Stage.Name, Step);
            if (Due(spec.SampleEvery, done) || stageEnd) WriteSample(cancellationToken);
            if (Due(spec.CheckpointEvery, done) || stop || stageEnd)
                last = WriteCheckpoint(cancellationToken) ?? last;
            // The model a stage ended with outlives checkpoint pruning (VQ-VAE-2's stage-1 autoencoder).
            if (stageEnd && _collectives.Rank == 0 && last is not null)
                _store.Preserve(last, $"{context.Stage.Name}-final");
            if (stop && !done)
            {
                TrainingLog.Stopped(_setup.Logger, Step);
                return new SessionResult(SessionOutcome.Stopped, Step, last, _skipped);
            }
        }
        return new SessionResult(SessionOutcome.Completed, Step, last, _skipped);
    }

    /// <summary>One all-gather per step: every rank's metrics (averaged) and stop requests (any).</summary>
    private (IReadOnlyList<KeyValuePair<string, double>> Metrics, bool Stop) Agree(StepContext context, bool stop, CancellationToken cancellationToken)
    {
        var names = Recipe.MetricNames;
        var mine = new double[names.Count + 1];
        for (var i = 0; i < names.Count; i++)
            mine[i] = context.Metrics.TryGetValue(names[i], out var v) ? v : double.NaN;
        mine[^1] = stop ? 1 : 0;
        var all = _collectives.WorldSize == 1
            ? [mine]
            : _collectives.AllGatherAsync(mine, cancellationToken).GetAwaiter().GetResult();
        var averaged = new KeyValuePair<string, double>[names.Count];
        for (var i = 0; i < names.Count; i++)
            averaged[i] = new(names[i], all.Average(v => v[i]));
        return (averaged, all.Any(v => v[^1] != 0));
    }

    private bool Due(int every, bool done) => done || (every > 0 && Step % every == 0);

    private void StartRound(CancellationToken cancellationToken)
    {
        foreach (var network in Recipe.Networks)
            ModelFingerprint.VerifyAcrossRanksAsync(_collectives, network.Name, network.Module, cancellationToken).GetAwaiter().GetResult();
        foreach (var network in Recipe.Networks)
            ModelStateSync.BroadcastParametersAndBuffersAsync(_collectives, network.Module, cancellationToken).GetAwaiter().GetResult();
    }

    /// <summary>Applies the declared buffer policies before state is saved or shown: rank 0's BatchNorm statistics everywhere.</summary>
    private void SyncBuffers(CancellationToken cancellationToken)
    {
        Recipe.RecomputeBuffers();
        foreach (var network in Recipe.Networks.Where(n => n.Buffers == BufferPolicy.BroadcastFromRank0))
            ModelStateSync.BroadcastBuffersAsync(_collectives, network.Module, cancellationToken).GetAwaiter().GetResult();
    }

    private void WriteSample(CancellationToken cancellationToken)
    {
        SyncBuffers(cancellationToken);
        if (_collectives.Rank != 0) return;
        using var scope = NewDisposeScope();
        var name = CheckpointStore.DirectoryName(Step) + ".png";
        string? reconstructions = null;
        if (Recipe is IReconstructingRecipe autoencoder)
        {
            reconstructions = Path.Combine(_setup.RunDirectory, "reconstructions", name);
            ReconstructionGrid.WritePng(reconstructions, autoencoder, _setup.Dataset, GridColumns);
        }
        var path = Path.Combine(_setup.RunDirectory, "samples", name);
        if (Recipe.CanSample)
        {
            using var batch = Recipe.Sample(GridRequest(_setup.Spec.Seed, _setup.Engine.SampleCount, Recipe.Classes));
            SampleGrid.WritePng(path, batch.Images, GridColumns);
        }
        else
        {
            // No prior yet: the job's latest picture is its reconstructions.
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Copy(reconstructions!, path, overwrite: true);
        }
        SampleWritten?.Invoke(path);
    }

    private CheckpointRef? WriteCheckpoint(CancellationToken cancellationToken)
    {
        SyncBuffers(cancellationToken);
        RecipeCheckpoint.GatherOptimizers(Recipe, _collectives, cancellationToken);
        if (_collectives.Rank != 0) return null;
        var started = Stopwatch.GetTimestamp();
        var position = Sampler.Position;
        var manifest = new CheckpointManifest
        {
            Format = CheckpointManifest.CurrentFormat,
            ModelKind = Recipe.Kind,
            Step = Step,
            Stage = Stage.Name,
            Epoch = position.Epoch,
            SamplerBatch = position.Batch,
            WorldSize = _collectives.WorldSize,
            PerWorkerBatch = _setup.Spec.PerWorkerBatch,
            SkippedSteps = _skipped,
            RngStates = RngStates(),
            Options = _optionsSnapshot,
            Spec = CheckpointManifest.SpecToJson(_setup.Spec),
            Layouts = Recipe.Networks.ToDictionary(n => n.Name, n => ModelFingerprint.Describe(n.Module)),
            Data = new ImageShape(_setup.Dataset.Channels, _setup.Dataset.Height, _setup.Dataset.Width, _setup.Dataset.Classes),
        };
        var saved = _store.Save(manifest, RecipeCheckpoint.Writers(Recipe));
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

        RecipeCheckpoint.Load(Recipe, checkpoint);
        foreach (var name in m.RngStates.Keys.Where(k => k.StartsWith(NoiseRngPrefix, StringComparison.Ordinal)))
        {
            using var state = StateFromBase64(m, name, checkpoint.Directory);
            _noise.Restore(name[NoiseRngPrefix.Length..], state.bytes.ToArray());
        }
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
        Sampler.Seek(new SamplerPosition(m.Epoch, Math.Min(batch, Sampler.BatchesPerEpoch)));
        Step = m.Step;
        _skipped = m.SkippedSteps;
        TrainingLog.Resumed(_setup.Logger, checkpoint.Directory, Step, m.Epoch, Sampler.Position.Batch);
        if (_stages.Count > 1) TrainingLog.ResumedInStage(_setup.Logger, Stage.Name, Stage.FirstStep, Stage.EndStep);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Recipe.Dispose();
        _noise.Dispose();
    }

    private Dictionary<string, string> RngStates()
    {
        var states = _noise.States().ToDictionary(s => NoiseRngPrefix + s.Key, s => Convert.ToBase64String(s.Value));
        states[TorchRng] = StateToBase64(torch.get_rng_state());
        return states;
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
