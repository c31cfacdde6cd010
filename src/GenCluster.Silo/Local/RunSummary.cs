using System.Globalization;
using GenCluster.Contracts.Models;

namespace GenCluster.Silo.Local;

/// <summary>The closing lines of <c>gencluster local</c> that depend on the model and its figures. Pure.</summary>
public static class RunSummary
{
    /// <summary>
    /// The evaluation's lines: the samples' FID, floor, ratio and classes (when samples were scored), and an
    /// autoencoder's reconstruction figures (test-split MSE, codebook use, the reconstructions' FID, the VAE's negative ELBO).
    /// </summary>
    public static IReadOnlyList<string> EvaluationLines(IReadOnlyDictionary<string, double> figures, string runDirectory)
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>();
        if (figures.TryGetValue("fid", out var fid))
        {
            double Figure(string name) => figures.TryGetValue(name, out var v) ? v : double.NaN;
            var accuracy = figures.ContainsKey("label_accuracy") ? string.Create(inv, $", label accuracy {Figure("label_accuracy") * 100:F1}%") : "";
            lines.Add(string.Create(inv,
                $"evaluation   FID {fid:F3} (real-data floor {Figure("fid_floor"):F3}, {Figure("fid_ratio"):F1}x), {Figure("classes_present"):F0} of 10 classes present{accuracy}   ({Path.Combine(runDirectory, "evaluation.json")})"));
        }
        if (figures.TryGetValue("reconstruction_mse", out var mse))
        {
            var parts = new List<string> { string.Create(inv, $"test-split MSE {mse:F5}") };
            var usage = figures.Where(f => f.Key.StartsWith("codebook_usage_", StringComparison.Ordinal))
                .Select(f => string.Create(inv, $"{f.Key["codebook_usage_".Length..]} {f.Value * 100:F1}%")).ToList();
            if (usage.Count > 0) parts.Add($"codes used {string.Join(", ", usage)}");
            if (figures.TryGetValue("reconstruction_fid", out var reconstructionFid)) parts.Add(string.Create(inv, $"reconstructions' FID {reconstructionFid:F3}"));
            if (figures.TryGetValue("neg_elbo_test", out var elbo)) parts.Add(string.Create(inv, $"negative ELBO {elbo:F2} nats per image"));
            lines.Add($"reconstruct  {string.Join(", ", parts)}   ({Path.Combine(runDirectory, "reconstruction.json")})");
        }
        return lines;
    }

    /// <summary>
    /// The <c>gencluster sample</c> command that works for the job's model: <c>--ema</c> only where the model keeps
    /// averaged weights, and reconstructions for a VQ-VAE (or a VQ-VAE-2 without a prior stage), which draws no samples.
    /// </summary>
    public static string SampleCommand(ModelOptions model, string checkpoint)
    {
        var draws = model switch
        {
            VqVaeOptions => false,
            VqVae2Options two => two.PriorSteps > 0,
            _ => true,
        };
        if (!draws) return $"gencluster sample --checkpoint {checkpoint} --reconstruct --count 64 --out reconstructions.png";
        var ema = model switch
        {
            GanOptions gan => gan.EmaDecay > 0,
            VqVae2Options two => two.PriorEmaDecay > 0,
            _ => false,
        };
        return $"gencluster sample --checkpoint {checkpoint} --count 10000 --out samples.npy{(ema ? " --ema" : "")}";
    }
}
