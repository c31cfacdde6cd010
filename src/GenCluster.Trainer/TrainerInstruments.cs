using System.Diagnostics.Metrics;

namespace GenCluster.Trainer;

/// <summary>The trainer's metrics (Meter <c>GenCluster.Trainer</c>), named for Prometheus.</summary>
public sealed class TrainerInstruments
{
    /// <summary>Meter name to enable in the OpenTelemetry setup.</summary>
    public const string MeterName = "GenCluster.Trainer";

    private static readonly double[] StepBuckets = [0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] CollectiveBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
    private static readonly double[] CheckpointBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Histogram<double> _stepSeconds;
    private readonly Gauge<double> _imagesPerSecond;
    private readonly Gauge<double> _lossD;
    private readonly Gauge<double> _lossG;
    private readonly Histogram<double> _allReduceSeconds;
    private readonly Counter<long> _allReduceBytes;
    private readonly Histogram<double> _checkpointSeconds;
    private readonly Counter<long> _skippedSteps;
    private readonly Counter<long> _steps;
    private readonly Gauge<double> _metric;
    private readonly Gauge<double> _evaluation;
    private readonly Gauge<long> _batch;
    private readonly Histogram<double> _syncBatchNormSeconds;
    private readonly Counter<long> _syncBatchNormBytes;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>.</summary>
    public TrainerInstruments(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _stepSeconds = meter.CreateHistogram("gencluster_trainer_step_seconds", "s", "Wall time of one optimizer step (D and G, including all-reduce)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _imagesPerSecond = meter.CreateGauge<double>("gencluster_trainer_images_per_second", "{image}/s", "Real images consumed per second over all ranks, last step");
        _lossD = meter.CreateGauge<double>("gencluster_trainer_discriminator_loss", null, "Discriminator loss, averaged over ranks, last step");
        _lossG = meter.CreateGauge<double>("gencluster_trainer_generator_loss", null, "Generator loss, averaged over ranks, last step");
        _allReduceSeconds = meter.CreateHistogram("gencluster_trainer_allreduce_seconds", "s", "Time in gradient all-reduce per model update",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CollectiveBuckets });
        _allReduceBytes = meter.CreateCounter<long>("gencluster_trainer_allreduce_bytes_total", "By", "Gradient bytes all-reduced");
        _checkpointSeconds = meter.CreateHistogram("gencluster_trainer_checkpoint_seconds", "s", "Time to write one checkpoint",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CheckpointBuckets });
        _skippedSteps = meter.CreateCounter<long>("gencluster_trainer_skipped_steps_total", "{step}", "Steps skipped by every rank for NaN/Inf in a loss or gradient");
        _steps = meter.CreateCounter<long>("gencluster_trainer_steps_total", "{step}", "Optimizer steps run");
        _metric = meter.CreateGauge<double>("gencluster_trainer_metric", null, "A training recipe's metric (label name: loss_d, loss_g, gp, ...), averaged over ranks, last step");
        _batch = meter.CreateGauge<long>("gencluster_trainer_batch_images", "{image}",
            "The round's batch geometry (label quantity: global = what the optimiser sees per step, per_worker = one micro-batch of one rank, accumulation = micro-batches per step)");
        _syncBatchNormSeconds = meter.CreateHistogram("gencluster_trainer_syncbn_seconds", "s",
            "Time in cross-replica BatchNorm all-reduces (statistics forward, their gradients backward) per step",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CollectiveBuckets });
        _syncBatchNormBytes = meter.CreateCounter<long>("gencluster_trainer_syncbn_bytes_total", "By", "Bytes all-reduced by cross-replica BatchNorm");
        _evaluation = meter.CreateGauge<double>("gencluster_trainer_evaluation", null, "Final sample-quality figures of the job (label figure: fid, fid_floor, classes_present, label_accuracy)");
    }

    /// <summary>Records a finished step and the recipe's metrics (each exported as <c>gencluster_trainer_metric{name}</c>; D and G losses also under their own names).</summary>
    public void StepCompleted(double seconds, double imagesPerSecond, IReadOnlyList<KeyValuePair<string, double>> metrics)
    {
        _steps.Add(1);
        _stepSeconds.Record(seconds);
        _imagesPerSecond.Record(imagesPerSecond);
        foreach (var (name, value) in metrics)
        {
            if (!double.IsFinite(value)) continue;
            _metric.Record(value, new KeyValuePair<string, object?>("name", name));
            if (name == "loss_d") _lossD.Record(value);
            else if (name == "loss_g") _lossG.Record(value);
        }
    }

    /// <summary>Records the final evaluation of a job's samples (rank 0).</summary>
    public void Evaluated(double frechetDistance, double floor, double classesPresent, double? labelAccuracy)
    {
        _evaluation.Record(frechetDistance, new KeyValuePair<string, object?>("figure", "fid"));
        _evaluation.Record(floor, new KeyValuePair<string, object?>("figure", "fid_floor"));
        _evaluation.Record(classesPresent, new KeyValuePair<string, object?>("figure", "classes_present"));
        if (labelAccuracy is { } accuracy) _evaluation.Record(accuracy, new KeyValuePair<string, object?>("figure", "label_accuracy"));
    }

    /// <summary>Records the batch geometry of the round that starts: global batch, per-worker micro-batch, accumulation.</summary>
    public void RoundStarted(long globalBatch, int perWorkerBatch, int accumulation)
    {
        _batch.Record(globalBatch, new KeyValuePair<string, object?>("quantity", "global"));
        _batch.Record(perWorkerBatch, new KeyValuePair<string, object?>("quantity", "per_worker"));
        _batch.Record(accumulation, new KeyValuePair<string, object?>("quantity", "accumulation"));
    }

    /// <summary>Records one model's gradient all-reduce.</summary>
    public void AllReduced(double seconds, long bytes)
    {
        _allReduceSeconds.Record(seconds);
        _allReduceBytes.Add(bytes);
    }

    /// <summary>Records one step's cross-replica BatchNorm all-reduces.</summary>
    public void BatchNormSynchronised(double seconds, long bytes)
    {
        _syncBatchNormSeconds.Record(seconds);
        _syncBatchNormBytes.Add(bytes);
    }

    /// <summary>Records a written checkpoint.</summary>
    public void CheckpointWritten(double seconds) => _checkpointSeconds.Record(seconds);

    /// <summary>Records a step every rank skipped.</summary>
    public void StepSkipped() => _skippedSteps.Add(1);
}
