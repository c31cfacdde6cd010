using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace GenCluster.Trainer;

/// <summary>The trainer's metrics (Meter <c>GenCluster.Trainer</c>), named for Prometheus.</summary>
public sealed class TrainerInstruments : IDisposable
{
    /// <summary>Meter name to enable in the OpenTelemetry setup.</summary>
    public const string MeterName = "GenCluster.Trainer";

    private static readonly double[] StepBuckets = [0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] CollectiveBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
    private static readonly double[] CheckpointBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private volatile Instruments _current;

    /// <summary>Creates the instruments (unlabelled until the first <see cref="BeginRound"/>) on a meter from <paramref name="meterFactory"/>.</summary>
    public TrainerInstruments(IMeterFactory meterFactory)
    {
        _current = new Instruments(meterFactory.Create(MeterName), [], owned: false);
    }

    /// <summary>The labels every series carries now (empty before the first round).</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Labels => _current.Labels;

    /// <summary>
    /// Labels every series from now on with the round's <c>job_id</c>, <c>round</c>, <c>rank</c> and <c>host</c>. The
    /// previous round's series are retired with their meter, so a trainer exports one round's series at a time and the
    /// cardinality stays bounded by the ranks of the jobs it currently trains.
    /// </summary>
    public void BeginRound(string jobId, long round, int rank, string host)
    {
        KeyValuePair<string, object?>[] labels =
        [
            new("job_id", jobId), new("round", round.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("rank", rank.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("host", host),
        ];
        // A meter per round, told apart by its version: a stream of the same name and version would be merged by the
        // metrics SDK with the retiring one and dropped with it.
        var previous = _current;
        previous.Retire();
        _current = new Instruments(new Meter(MeterName, $"round-{jobId}-{round}"), labels, owned: true);
    }

    /// <inheritdoc />
    public void Dispose() => _current.Retire();

    /// <summary>One round's instruments: the same names, every measurement tagged with the round's labels.</summary>
    private sealed class Instruments
    {
        private readonly Meter _meter;
        private readonly bool _owned;
        public readonly KeyValuePair<string, object?>[] Labels;
        public readonly Histogram<double> StepSeconds;
        public readonly Histogram<double> ComputeSeconds;
        public readonly Gauge<double> ImagesPerSecond;
        public readonly Gauge<double> LossD;
        public readonly Gauge<double> LossG;
        public readonly Histogram<double> AllReduceSeconds;
        public readonly Counter<long> AllReduceBytes;
        public readonly Gauge<double> BusBandwidth;
        public readonly Histogram<double> CheckpointSeconds;
        public readonly Counter<long> SkippedSteps;
        public readonly Counter<long> Steps;
        public readonly Gauge<double> Metric;
        public readonly Gauge<double> Evaluation;
        public readonly Gauge<long> Batch;
        public readonly Histogram<double> SyncBatchNormSeconds;
        public readonly Counter<long> SyncBatchNormBytes;
        public readonly Gauge<long> OptimizerBytes;

        public Instruments(Meter meter, KeyValuePair<string, object?>[] labels, bool owned)
        {
            _meter = meter;
            _owned = owned;
            Labels = labels;
            StepSeconds = meter.CreateHistogram("gencluster_trainer_step_seconds", "s", "Wall time of one optimizer step (D and G, including all-reduce)",
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
            ComputeSeconds = meter.CreateHistogram("gencluster_trainer_compute_seconds", "s",
                "This rank's own work in one step: the step's wall time less its time in collectives (where it waits for the slowest rank)",
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
            ImagesPerSecond = meter.CreateGauge<double>("gencluster_trainer_images_per_second", "{image}/s", "Real images consumed per second over all ranks, last step");
            LossD = meter.CreateGauge<double>("gencluster_trainer_discriminator_loss", null, "Discriminator loss, averaged over ranks, last step");
            LossG = meter.CreateGauge<double>("gencluster_trainer_generator_loss", null, "Generator loss, averaged over ranks, last step");
            AllReduceSeconds = meter.CreateHistogram("gencluster_trainer_allreduce_seconds", "s", "Time in gradient all-reduce per model update",
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CollectiveBuckets });
            AllReduceBytes = meter.CreateCounter<long>("gencluster_trainer_allreduce_bytes_total", "By", "Gradient bytes all-reduced");
            BusBandwidth = meter.CreateGauge<double>("gencluster_trainer_busbw_bytes_per_second", "By/s",
                "Bus bandwidth of the last step's gradient all-reduce: bytes × 2(n−1)/n over its seconds (NCCL's busbw; waiting for peers counts)");
            CheckpointSeconds = meter.CreateHistogram("gencluster_trainer_checkpoint_seconds", "s", "Time to write one checkpoint",
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CheckpointBuckets });
            SkippedSteps = meter.CreateCounter<long>("gencluster_trainer_skipped_steps_total", "{step}", "Steps skipped by every rank for NaN/Inf in a loss or gradient");
            Steps = meter.CreateCounter<long>("gencluster_trainer_steps_total", "{step}", "Optimizer steps run");
            Metric = meter.CreateGauge<double>("gencluster_trainer_metric", null, "A training recipe's metric (label name: loss_d, loss_g, gp, ...), averaged over ranks, last step");
            Batch = meter.CreateGauge<long>("gencluster_trainer_batch_images", "{image}",
                "The round's batch geometry (label quantity: global = what the optimiser sees per step, per_worker = one micro-batch of one rank, accumulation = micro-batches per step)");
            SyncBatchNormSeconds = meter.CreateHistogram("gencluster_trainer_syncbn_seconds", "s",
                "Time in cross-replica BatchNorm all-reduces (statistics forward, their gradients backward) per step",
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CollectiveBuckets });
            SyncBatchNormBytes = meter.CreateCounter<long>("gencluster_trainer_syncbn_bytes_total", "By", "Bytes all-reduced by cross-replica BatchNorm");
            OptimizerBytes = meter.CreateGauge<long>("gencluster_trainer_optimizer_bytes", "By",
                "Optimiser state this rank holds (Adam's moments and the like): the whole state, or 1/world size of it with shardOptimizer");
            Evaluation = meter.CreateGauge<double>("gencluster_trainer_evaluation", null, "Final sample-quality figures of the job (label figure: fid, fid_floor, classes_present, label_accuracy)");
        }

        /// <summary>The round's labels plus <paramref name="name"/> = <paramref name="value"/>.</summary>
        public TagList With(string name, object? value)
        {
            var tags = new TagList(Labels);
            tags.Add(name, value);
            return tags;
        }

        public TagList Tags => new(Labels);

        public void Retire()
        {
            if (_owned) _meter.Dispose();
        }
    }

    /// <summary>
    /// Records a finished step, this rank's compute time in it, and the recipe's metrics (each exported as
    /// <c>gencluster_trainer_metric{name}</c>; D and G losses also under their own names).
    /// </summary>
    public void StepCompleted(double seconds, double computeSeconds, double imagesPerSecond, IReadOnlyList<KeyValuePair<string, double>> metrics)
    {
        var i = _current;
        var tags = i.Tags;
        i.Steps.Add(1, tags);
        i.StepSeconds.Record(seconds, tags);
        i.ComputeSeconds.Record(computeSeconds, tags);
        i.ImagesPerSecond.Record(imagesPerSecond, tags);
        foreach (var (name, value) in metrics)
        {
            if (!double.IsFinite(value)) continue;
            i.Metric.Record(value, i.With("name", name));
            if (name == "loss_d") i.LossD.Record(value, tags);
            else if (name == "loss_g") i.LossG.Record(value, tags);
        }
    }

    /// <summary>Records the final evaluation of a job's samples (rank 0).</summary>
    public void Evaluated(double frechetDistance, double floor, double classesPresent, double? labelAccuracy)
    {
        var i = _current;
        i.Evaluation.Record(frechetDistance, i.With("figure", "fid"));
        i.Evaluation.Record(floor, i.With("figure", "fid_floor"));
        i.Evaluation.Record(classesPresent, i.With("figure", "classes_present"));
        if (labelAccuracy is { } accuracy) i.Evaluation.Record(accuracy, i.With("figure", "label_accuracy"));
    }

    /// <summary>Records the batch geometry of the round that starts: global batch, per-worker micro-batch, accumulation.</summary>
    public void RoundStarted(long globalBatch, int perWorkerBatch, int accumulation)
    {
        var i = _current;
        i.Batch.Record(globalBatch, i.With("quantity", "global"));
        i.Batch.Record(perWorkerBatch, i.With("quantity", "per_worker"));
        i.Batch.Record(accumulation, i.With("quantity", "accumulation"));
    }

    /// <summary>Records the bytes of optimiser state this rank holds for the round.</summary>
    public void OptimizerStateHeld(long bytes) => _current.OptimizerBytes.Record(bytes, _current.Tags);

    /// <summary>Records one step's gradient all-reduces among <paramref name="worldSize"/> ranks, and their bus bandwidth.</summary>
    public void AllReduced(double seconds, long bytes, int worldSize)
    {
        var i = _current;
        var tags = i.Tags;
        i.AllReduceSeconds.Record(seconds, tags);
        i.AllReduceBytes.Add(bytes, tags);
        if (seconds > 0 && worldSize > 1) i.BusBandwidth.Record(BusBandwidth(bytes, seconds, worldSize), tags);
    }

    /// <summary>NCCL's bus bandwidth of a ring all-reduce: each byte crosses 2(n−1)/n links.</summary>
    public static double BusBandwidth(long bytes, double seconds, int worldSize) => bytes * 2.0 * (worldSize - 1) / worldSize / seconds;

    /// <summary>Records one step's cross-replica BatchNorm all-reduces.</summary>
    public void BatchNormSynchronised(double seconds, long bytes)
    {
        var i = _current;
        i.SyncBatchNormSeconds.Record(seconds, i.Tags);
        i.SyncBatchNormBytes.Add(bytes, i.Tags);
    }

    /// <summary>Records a written checkpoint.</summary>
    public void CheckpointWritten(double seconds) => _current.CheckpointSeconds.Record(seconds, _current.Tags);

    /// <summary>Records a step every rank skipped.</summary>
    public void StepSkipped() => _current.SkippedSteps.Add(1, _current.Tags);
}
