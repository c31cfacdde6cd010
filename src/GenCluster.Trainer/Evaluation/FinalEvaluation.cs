using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Recipes;
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

    /// <summary>
    /// Evaluates <paramref name="checkpointDirectory"/>: an autoencoder's reconstructions of the test split (written to
    /// <see cref="ReconstructionReport.FileName"/>), and samples of any model that can draw them; null (with the reason
    /// logged) when the measure does not apply.
    /// </summary>
    public static async Task<FinalEvaluationResult?> RunAsync(string checkpointDirectory, string runDirectory, SampleEvaluatorOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var checkpoint = Checkpoints.CheckpointStore.Load(checkpointDirectory);
        var spec = checkpoint.Manifest.ReadSpec(checkpointDirectory);
        if (EvaluationScope.SkipReason(spec.Dataset) is { } reason)
        {
            log.WriteLine($"evaluation: {reason}");
            return null;
        }
        using var evaluator = await SampleEvaluator.CreateAsync(options, log, cancellationToken);
        using var recipe = CheckpointSampler.LoadRecipe(checkpoint);
        var reconstruction = ReconstructionEvaluator.EvaluateIfAutoencoder(recipe, evaluator.Data.TestImages, evaluator);
        if (reconstruction is not null)
        {
            log.Write(reconstruction.ToText());
            await WriteAtomically(Path.Combine(runDirectory, ReconstructionReport.FileName), reconstruction.ToJson(), cancellationToken);
        }
        EvaluationReport? report = null;
        if (recipe.CanSample)
        {
            var sampled = CheckpointSampler.Sample(recipe, checkpoint, new SamplingRequest(SampleCount, Ema: recipe.HasEma, Seed: spec.Seed));
            report = evaluator.Evaluate(sampled.Images, sampled.Labels);
            await WriteAtomically(Path.Combine(runDirectory, FileName), report.ToJson(), cancellationToken);
        }
        else
        {
            log.WriteLine($"evaluation: the {spec.Model.Kind} model draws no samples; only its reconstructions are measured");
        }
        return new FinalEvaluationResult(report, reconstruction);
    }

    private static async Task WriteAtomically(string path, string text, CancellationToken cancellationToken)
    {
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, text, cancellationToken);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The figures the job status and metrics carry.</summary>
    public static IReadOnlyDictionary<string, double> Figures(FinalEvaluationResult result)
    {
        var figures = result.Samples is { } samples ? Figures(samples).ToDictionary() : [];
        if (result.Reconstruction is { } reconstruction)
        {
            foreach (var (name, value) in reconstruction.Figures()) figures[name] = value;
        }
        return figures;
    }

    /// <summary>The figures of a sample evaluation.</summary>
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

/// <summary>What the end-of-job evaluation measured.</summary>
/// <param name="Samples">FID, KID and classes of the model's samples, or null for a model that draws none.</param>
/// <param name="Reconstruction">An autoencoder's reconstruction error and codebook use on the test split, or null.</param>
public sealed record FinalEvaluationResult(EvaluationReport? Samples, ReconstructionReport? Reconstruction);
