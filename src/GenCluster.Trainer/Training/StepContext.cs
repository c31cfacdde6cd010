using System.Diagnostics;
using GenCluster.Contracts.Models;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>
/// What a recipe's step sees: this rank's data and randomness for the round's geometry, and the synchronisation
/// points it may use (gradient all-reduce with the NaN verdict, SUM of declared statistics). Built by the cadence per
/// step; a recipe never touches the collectives directly.
/// </summary>
/// <remarks>
/// <para>Per-image randomness (latents, fake labels, interpolation weights) is drawn for the whole global micro-batch,
/// one image at a time, from a stream per kind of draw (<see cref="NoiseStreams"/>) seeded identically on every rank,
/// and each rank keeps its slice: with the
/// sampler's layout the k-th image of a step gets the same example and the same random values whatever the world size,
/// per-worker batch and accumulation, so every geometry with the same global batch computes the same update.</para>
/// </remarks>
public sealed class StepContext
{
    private readonly ICollectives _collectives;
    private readonly ImageDataset _data;
    private readonly DistributedSampler _sampler;
    private readonly NoiseStreams _noise;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<string, double> _metrics = new(StringComparer.Ordinal);
    private OrderedCollectives? _ordered;

    internal StepContext(ICollectives collectives, ImageDataset data, DistributedSampler sampler, NoiseStreams noise,
        int perWorkerBatch, int accumulation, Device device, long step, CancellationToken cancellationToken, TrainingStage? stage = null)
    {
        _collectives = collectives;
        _data = data;
        _sampler = sampler;
        _noise = noise;
        PerWorkerBatch = perWorkerBatch;
        Accumulation = accumulation;
        Device = device;
        Step = step;
        Stage = stage ?? new TrainingStage(TrainingStage.Single, 0, long.MaxValue);
        _cancellationToken = cancellationToken;
    }

    /// <summary>This rank.</summary>
    public int Rank => _collectives.Rank;

    /// <summary>Ranks in the round.</summary>
    public int WorldSize => _collectives.WorldSize;

    /// <summary>Images per rank per micro-batch.</summary>
    public int PerWorkerBatch { get; }

    /// <summary>Micro-batches per optimiser step this round (the global batch is WorldSize × PerWorkerBatch × Accumulation).</summary>
    public int Accumulation { get; }

    /// <summary>Training device.</summary>
    public Device Device { get; }

    /// <summary>Steps completed before this one (0 for the first).</summary>
    public long Step { get; }

    /// <summary>The stage this step belongs to (<c>ModelOptions.Stages</c>): multi-stage recipes train its networks only.</summary>
    public TrainingStage Stage { get; }

    /// <summary>Number of classes of the data set (0 = unlabelled).</summary>
    public int Classes => _data.Classes;

    /// <summary>Set when some rank's update was skipped for non-finite values; the whole step then counts as skipped.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>Seconds in gradient all-reduces this step.</summary>
    public double AllReduceSeconds { get; private set; }

    /// <summary>Gradient bytes all-reduced this step.</summary>
    public long AllReduceBytes { get; private set; }

    /// <summary>Seconds in cross-replica BatchNorm all-reduces this step (forward statistics and their gradients).</summary>
    public double SyncBatchNormSeconds { get; private set; }

    /// <summary>Bytes of cross-replica BatchNorm statistics and gradients all-reduced this step (float32 on the wire).</summary>
    public long SyncBatchNormBytes { get; private set; }

    /// <summary>Metric values reported by this rank this step (the cadence averages them over ranks).</summary>
    public IReadOnlyDictionary<string, double> Metrics => _metrics;

    /// <summary>The next micro-batch of this rank: images [B, C, H, W] in [−1, 1] and labels [B] (int64).</summary>
    public (Tensor Images, Tensor Labels) NextBatch()
    {
        var indices = _sampler.Next();
        return (_data.Batch(indices, Device), _data.Labels(indices, Device));
    }

    /// <summary>This rank's latents [B, <paramref name="dim"/>] from N(0, I).</summary>
    public Tensor Latents(long dim) => PerImage(NoiseStreams.Latents, g => torch.randn([1, dim], generator: g));

    /// <summary>This rank's uniformly drawn class labels [B] (int64) in 0..<paramref name="classes"/>−1.</summary>
    public Tensor RandomLabels(int classes) => PerImage("labels", g => torch.randint(0, classes, [1], dtype: ScalarType.Int64, generator: g));

    /// <summary>This rank's U(0, 1) values [B] (e.g. WGAN-GP's interpolation weights).</summary>
    public Tensor Uniform() => PerImage("uniform", g => torch.rand([1], generator: g));

    /// <summary>
    /// Agrees on non-finite values and averages the gathered gradients over the round in one all-reduce. Returns false,
    /// identically on every rank, when some rank's <paramref name="localLoss"/> or gradients were not finite: the caller
    /// must then skip its optimiser step (the step counts as skipped).
    /// </summary>
    public bool AverageGradients(GradientBuckets buckets, string phase, double localLoss) =>
        BeginAverageGradients(buckets, phase, localLoss)();

    /// <summary>
    /// <see cref="AverageGradients"/> in two halves: this launches the all-reduces of <paramref name="buckets"/> not yet
    /// launched during backward and returns what completes them (waits, writes the averages into the gradients, and
    /// returns <see cref="AverageGradients"/>'s verdict). With buckets in flight the launch returns at once, so the caller
    /// may compute something independent of these gradients and their parameters in between (<see
    /// cref="GradientBuckets.BeginAverage"/>); call the result exactly once.
    /// </summary>
    public Func<bool> BeginAverageGradients(GradientBuckets buckets, string phase, double localLoss)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        var pending = buckets.BeginAverage(_collectives, Rank, !double.IsFinite(localLoss), _cancellationToken);
        return () =>
        {
            var average = pending.Complete();
            AllReduceSeconds += average.Seconds;
            AllReduceBytes += average.Bytes;
            if (average.FlaggedRanks.Count == 0) return true;
            SkipReason ??= $"{phase} update skipped: non-finite values on rank(s) {string.Join(", ", average.FlaggedRanks)}";
            return false;
        };
    }

    /// <summary>
    /// Overlaps the next <see cref="AverageGradients"/> of <paramref name="overlap"/>'s buckets with backward: call it
    /// before the forward pass whose backward completes the gradients (the last micro-batch's). Nothing happens with one
    /// rank or a null <paramref name="overlap"/> (overlap off).
    /// </summary>
    public void OverlapBackward(BackwardOverlap? overlap)
    {
        if (overlap is null || WorldSize == 1) return;
        _ordered ??= new OrderedCollectives(_collectives);
        overlap.Arm(_ordered, _cancellationToken);
    }

    /// <summary>
    /// The collectives for a call made now: while buckets launched during backward are still in flight, the ordered
    /// chain they run on (so this call follows them on every rank), otherwise the round's collectives directly.
    /// </summary>
    private ICollectives Collectives => _ordered is { } ordered && !ordered.Drain().IsCompleted ? ordered : _collectives;

    /// <summary>
    /// The sharded counterpart of <see cref="AverageGradients"/> followed by the optimiser's step (ZeRO-1): agrees on
    /// non-finite values first (a small all-reduce of the flags), then <paramref name="optimizer"/> reduce-scatters the
    /// gradients, updates its shard and all-gathers the parameters. Returns false, identically on every rank and
    /// without touching the parameters or the optimiser, when some rank's loss or gradients were not finite.
    /// </summary>
    public bool StepSharded(GradientBuckets buckets, ShardedAdam optimizer, string phase, double localLoss)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        buckets.Gather();
        var bad = !double.IsFinite(localLoss) || !buckets.AllFinite();
        buckets.SetFlag(Rank, bad);
        AllReduceSeconds += buckets.AgreeOnFlags(Collectives, _cancellationToken);
        var flagged = buckets.FlaggedRanks();
        if (flagged.Count > 0)
        {
            SkipReason ??= $"{phase} update skipped: non-finite values on rank(s) {string.Join(", ", flagged)}";
            return false;
        }
        var (seconds, bytes) = optimizer.Step(Collectives, _cancellationToken);
        AllReduceSeconds += seconds;
        AllReduceBytes += bytes;
        return true;
    }

    /// <summary>SUM-all-reduces <paramref name="statistics"/> (a contiguous float32 CPU tensor) in place over the round.</summary>
    public void AllReduceSum(Tensor statistics)
    {
        if (WorldSize == 1) return;
        var memory = new TensorMemory(statistics).Memory;
        Collectives.AllReduceAsync(memory, ReduceOp.Sum, _cancellationToken).GetAwaiter().GetResult();
    }

    /// <summary>
    /// Enables cross-replica BatchNorm (<see cref="CrossReplicaBatchNorm"/>) until disposed: every training-mode
    /// <see cref="CrossReplicaBatchNorm.Forward"/> in between normalises with the whole round's batch statistics and
    /// sums their gradients over the round in backward. With one rank it enables nothing (plain BatchNorm is the same
    /// computation), so a single worker never touches the collectives.
    /// </summary>
    public IDisposable SyncBatchNorm() => WorldSize == 1 ? NoHook.Instance : CrossReplicaBatchNorm.Enable(SumOverRanks);

    /// <summary>SUM over the round of any tensor (dtype and device converted to float32 CPU for the wire and back).</summary>
    private void SumOverRanks(Tensor values)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        var started = Stopwatch.GetTimestamp();
        if (values.dtype == ScalarType.Float32 && values.device_type == DeviceType.CPU && values.is_contiguous())
        {
            AllReduceSum(values);
        }
        else
        {
            using var scope = torch.NewDisposeScope();
            var wire = values.to(ScalarType.Float32, torch.CPU).contiguous();
            AllReduceSum(wire);
            values.copy_(wire);
        }
        SyncBatchNormBytes += values.numel() * sizeof(float);
        SyncBatchNormSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Adds <paramref name="value"/> to this step's metric <paramref name="name"/> (reported once per step per name, or summed).</summary>
    public void Report(string name, double value) =>
        _metrics[name] = _metrics.TryGetValue(name, out var sum) ? sum + value : value;

    private sealed class NoHook : IDisposable
    {
        public static readonly NoHook Instance = new();

        public void Dispose()
        {
        }
    }

    private Tensor PerImage(string stream, Func<Generator, Tensor> draw)
    {
        var generator = _noise.Get(stream);
        var first = Rank * PerWorkerBatch;
        var rows = new Tensor[PerWorkerBatch];
        for (var i = 0; i < WorldSize * PerWorkerBatch; i++)
        {
            var value = draw(generator);
            if (i >= first && i < first + PerWorkerBatch) rows[i - first] = value;
            else value.Dispose();
        }
        var mine = torch.cat(rows);
        foreach (var row in rows) row.Dispose();
        return Device.type == DeviceType.CPU ? mine : mine.to(Device);
    }
}
