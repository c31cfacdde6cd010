using System.Text.RegularExpressions;

namespace GenCluster.IntegrationTests.Deploy;

/// <summary>The alerts and the dashboard use only the metric names the silo and the trainers export.</summary>
public sealed partial class MetricContractTests
{
    /// <summary>Gauges and counters as they appear on /metrics (counters with their <c>_total</c>).</summary>
    private static readonly HashSet<string> Series =
    [
        // silo, per job (label job_id)
        "gencluster_job_step", "gencluster_job_target_steps", "gencluster_job_running", "gencluster_job_goodput_ratio",
        "gencluster_job_restarts", "gencluster_job_restart_budget", "gencluster_job_steps_since_checkpoint",
        "gencluster_job_checkpoint_every_steps",
        // silo, per rank (labels job_id, rank, host)
        "gencluster_rank_compute_seconds", "gencluster_rank_straggler_score",
        // silo, cluster-wide
        "gencluster_restarts_total", "gencluster_lost_steps_total", "gencluster_workers_alive", "gencluster_jobs",
        // trainers (labels job_id, round, rank, host)
        "gencluster_trainer_images_per_second", "gencluster_trainer_metric", "gencluster_trainer_allreduce_bytes_total",
        "gencluster_trainer_steps_total", "gencluster_trainer_busbw_bytes_per_second",
    ];

    /// <summary>Histograms, exported as <c>_bucket</c>, <c>_sum</c> and <c>_count</c> series.</summary>
    private static readonly HashSet<string> Histograms =
    [
        "gencluster_recovery_seconds", "gencluster_trainer_step_seconds", "gencluster_trainer_allreduce_seconds",
        "gencluster_trainer_checkpoint_seconds", "gencluster_trainer_compute_seconds",
    ];

    public static TheoryData<string> Sources() => new("alerts.yml", "alerts.test.yml", "gencluster.json");

    [Theory]
    [MemberData(nameof(Sources))]
    public void UsesOnlyExportedMetricNames(string source)
    {
        var text = source switch
        {
            "gencluster.json" => string.Join('\n', Expressions()),
            _ => File.ReadAllText(RepoPaths.Of("deploy", "prometheus", source)),
        };
        var names = MetricName().Matches(text).Select(m => m.Value).Distinct().ToList();
        Assert.NotEmpty(names);
        var unknown = names.Where(n => !IsExported(n)).ToList();
        Assert.True(unknown.Count == 0, $"{source} uses metrics that GenCluster does not export: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void TheDashboardShowsEveryHistogram()
    {
        var text = string.Join('\n', Expressions());
        var missing = Histograms.Where(h => !text.Contains(h + "_", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"no panel shows {string.Join(", ", missing)}");
    }

    private static bool IsExported(string name)
    {
        if (Series.Contains(name)) return true;
        foreach (var suffix in (string[])["_bucket", "_sum", "_count"])
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && Histograms.Contains(name[..^suffix.Length])) return true;
        }
        return false;
    }

    private static IEnumerable<string> Expressions()
    {
        using var doc = GrafanaDashboard.Load();
        return GrafanaDashboard.Queries(doc.RootElement).Select(q => q.Expr).ToList();
    }

    [GeneratedRegex(@"\bgencluster_[a-z0-9_]+")]
    private static partial Regex MetricName();
}
