using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Sampling;

namespace GenCluster.Trainer.Evaluation;

/// <summary>
/// The end-of-job evaluation (<c>JobSpec.Evaluate</c>): rank 0 draws 10,000 images from the final checkpoint (the EMA
/// generator where there is one), scores them with <see cref="SampleEvaluator"/> and writes <c>evaluation.json</c> into
/// the run directory. The figures go to the job status and the trainer's metrics by the caller.
/// </summary>
public static class FinalEvaluation
{
    /// <summary>File written into the run directory.</summary>
    public const string FileName = "evaluation.json";

    /// <summary>Images drawn.</summary>
    public const int SampleCount = 10_000;

    /// <summary>Samples <paramref name="checkpointDirectory"/> and evaluates; null (with the reason logged) when the measure does not apply.</summary>
    public static async Task<EvaluationReport?> RunAsync(string checkpointDirectory, string runDirectory, SampleEvaluatorOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var checkpoint = Checkpoints.CheckpointStore.Load(checkpointDirectory);
        var spec = checkpoint.Manifest.ReadSpec(checkpointDirectory);
        if (EvaluationScope.SkipReason(spec.Dataset) is { } reason)
        {
            log.WriteLine($"evaluation: {reason}");
            return null;
        }
        var hasEma = checkpoint.Manifest.Layouts.ContainsKey("generator_ema");
        var sampled = CheckpointSampler.Sample(checkpoint, new SamplingRequest(SampleCount, Ema: hasEma, Seed: spec.Seed));
        using var evaluator = await SampleEvaluator.CreateAsync(options, log, cancellationToken);
        var report = evaluator.Evaluate(sampled.Images, sampled.Labels);
        var path = Path.Combine(runDirectory, FileName);
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, report.ToJson(), cancellationToken);
        File.Move(temp, path, overwrite: true);
        return report;
    }

    /// <summary>The figures the job status and metrics carry.</summary>
    public static IReadOnlyDictionary<string, double> Figures(EvaluationReport report)
    {
        var figures = new Dictionary<string, double>
        {
            ["fid"] = report.Fid,
            ["fid_floor"] = report.FidFloor,
            ["fid_ratio"] = report.FidRatio,
            ["kid"] = report.KidMean,
            ["classes_present"] = report.ClassesPresent,
            ["min_class_share"] = report.ClassShares.Min(),
        };
        if (report.LabelAccuracy is { } accuracy) figures["label_accuracy"] = accuracy;
        return figures;
    }
}
