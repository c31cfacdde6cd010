using System.Globalization;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Silo.Local;

/// <summary>One snapshot of a training run as the progress display shows it.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Target steps.</param>
/// <param name="ImagesPerSecond">Global throughput.</param>
/// <param name="LossD">Discriminator loss, if known.</param>
/// <param name="LossG">Generator loss, if known.</param>
/// <param name="State">Job state name.</param>
/// <param name="Workers">Ranks in the current round.</param>
/// <param name="Figures">What to show instead of the GAN losses (autoencoders), or null.</param>
public sealed record ProgressSnapshot(long Step, long TotalSteps, double ImagesPerSecond, double? LossD, double? LossG, string State, int Workers, string? Figures = null);

/// <summary>Renders the one-line progress display: bar, step, images/s, losses, ETA. Pure.</summary>
public static class ProgressLine
{
    /// <summary>Renders a snapshot; <paramref name="stepsPerSecond"/> drives the ETA (null = unknown).</summary>
    public static string Render(ProgressSnapshot snapshot, double? stepsPerSecond, int barWidth = 24)
    {
        var fraction = snapshot.TotalSteps <= 0 ? 0 : Math.Clamp((double)snapshot.Step / snapshot.TotalSteps, 0, 1);
        var filled = (int)Math.Round(fraction * barWidth);
        var bar = new string('#', filled) + new string('-', barWidth - filled);
        var inv = CultureInfo.InvariantCulture;
        var losses = snapshot.Figures ?? (snapshot.LossD is null && snapshot.LossG is null
            ? "D -     G -    "
            : string.Create(inv, $"D {snapshot.LossD,6:F3} G {snapshot.LossG,6:F3}"));
        var eta = Eta(snapshot, stepsPerSecond);
        return string.Create(inv,
            $"[{bar}] {snapshot.Step,6}/{snapshot.TotalSteps} {fraction * 100,5:F1}% | {snapshot.ImagesPerSecond,7:F0} img/s | {losses} | ETA {eta} | {snapshot.State} x{snapshot.Workers}");
    }

    /// <summary>
    /// The autoencoder families' figures from a heartbeat's metrics, or null when there are none (a GAN): the prior
    /// stage's bits per code, the VQ models' reconstruction MSE and codebook use, the VAE's negative ELBO.
    /// </summary>
    public static string? AutoencoderFigures(IReadOnlyDictionary<string, double>? metrics)
    {
        if (metrics is null) return null;
        var inv = CultureInfo.InvariantCulture;
        double Get(string name) => metrics.TryGetValue(name, out var v) ? v : double.NaN;
        if (double.IsFinite(Get("nll_top_bits")))
            return string.Create(inv, $"prior: top {Get("nll_top_bits"),5:F3} bottom {Get("nll_bottom_bits"),5:F3} bits/code");
        if (double.IsFinite(Get("mse")))
        {
            var usage = metrics.Where(m => m.Key.StartsWith("usage_", StringComparison.Ordinal) && double.IsFinite(m.Value))
                .Select(m => string.Create(inv, $"{m.Key["usage_".Length..]} {m.Value * 100:F0}%"));
            return string.Create(inv, $"MSE {Get("mse"):F5} | codes used {string.Join(" ", usage)}");
        }
        if (double.IsFinite(Get("neg_elbo")))
            return string.Create(inv, $"-ELBO {Get("neg_elbo"),7:F2} nats (rec {Get("reconstruction"):F2}, KL {Get("kl"):F2})");
        return null;
    }

    /// <summary>
    /// The state the display shows: <c>Evaluating</c> while a job that scores its final model (<paramref name="evaluates"/>)
    /// is still running after its last step and has no figures yet (rank 0 samples and scores for a few minutes, with the
    /// bar full); otherwise the job's state.
    /// </summary>
    public static string StateName(JobState state, long step, long totalSteps, bool evaluates, bool evaluated) =>
        state == JobState.Running && step >= totalSteps && evaluates && !evaluated ? "Evaluating" : state.ToString();

    private static string Eta(ProgressSnapshot snapshot, double? stepsPerSecond)
    {
        if (snapshot.Step >= snapshot.TotalSteps) return "00:00";
        if (stepsPerSecond is not > 0) return "--:--";
        var seconds = (snapshot.TotalSteps - snapshot.Step) / stepsPerSecond.Value;
        var span = TimeSpan.FromSeconds(Math.Min(seconds, TimeSpan.FromDays(9).TotalSeconds));
        return span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}:{span.Minutes:D2}:{span.Seconds:D2}")
            : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes:D2}:{span.Seconds:D2}");
    }
}
