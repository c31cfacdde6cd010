using System.Text.Json;
using System.Text.RegularExpressions;
using GenCluster.Contracts.Jobs;
using GenCluster.IntegrationTests.Faults;
using GenCluster.Silo.Local;

namespace GenCluster.IntegrationTests.Telemetry;

/// <summary>
/// A real Prometheus with the shipped scrape config finds the silo and the trainers through the targets the silo keeps
/// current, scrapes them during a run with a trainer killed mid-way, and answers for every training series and every
/// dashboard panel.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class PrometheusScrapeTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly FaultCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task PrometheusScrapesTheSiloAndEveryTrainerAndAnswersEveryPanel()
    {
        // A job far longer than the test, so it is still training through every check whatever the machine's speed.
        await _cluster.StartAsync(trainers: 3);
        var jobId = (await _cluster.Silo.Api.SubmitAsync(_cluster.Spec(steps: 1_000_000, minWorkers: 2, maxWorkers: 3))).Id;
        var running = await _cluster.WaitForAsync(jobId,
            s => s.State == JobState.Running && s.Rounds[^1].Members.Count == 3 && s.Progress?.Step >= 8, Patience, "running on 3 trainers past step 8");
        using var prometheus = new PrometheusServer(FastConfig(LocalPrometheus.Write(_cluster.PrometheusDirectory, _cluster.Silo.Credentials.ReadToken)));

        // Per-rank training series, each carrying job, round, rank and host.
        var round = running.CurrentRound.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var series in new[]
                 {
                     "gencluster_trainer_steps_total", "gencluster_trainer_images_per_second", "gencluster_trainer_metric{name=\"loss_d\"}",
                     "gencluster_trainer_metric{name=\"loss_g\"}", "gencluster_trainer_step_seconds_count", "gencluster_trainer_compute_seconds_count",
                     "gencluster_trainer_allreduce_seconds_count", "gencluster_trainer_allreduce_bytes_total",
                     "gencluster_trainer_busbw_bytes_per_second", "gencluster_trainer_checkpoint_seconds_count",
                 })
        {
            // Rank 0 writes the checkpoints; every rank does the rest.
            var ranks = series.StartsWith("gencluster_trainer_checkpoint", StringComparison.Ordinal) ? 1 : 3;
            var result = await prometheus.WaitForAsync(Selector(series, jobId), r => r.Select(s => s.Labels["rank"]).Distinct().Count() == ranks, Patience);
            Assert.All(result, s =>
            {
                Assert.Equal(round, s.Labels["round"]);
                Assert.False(string.IsNullOrEmpty(s.Labels["host"]), $"{series}: no host label");
            });
        }
        await prometheus.WaitForAsync($"gencluster_rank_straggler_score{{job_id=\"{jobId}\"}}", r => r.Count == 3, Patience);
        await prometheus.WaitForAsync($"gencluster_job_goodput_ratio{{job_id=\"{jobId}\"}}", r => r.Count == 1 && r[0].Value is > 0 and <= 1, Patience);

        // A trainer dies: the restart, the lost steps and the recovery time reach Prometheus, and the series follow the
        // new round — the dead trainer's target is dropped and the survivors retire their old round's series.
        _cluster.TrainerWithRank(running, 2).Kill();
        var recovered = await _cluster.WaitForAsync(jobId, s => s.Recoveries.Count >= 1 && s.Progress?.Step > s.Rounds[^1].ResumeFrom?.Step + 3,
            Patience, "recovered and training in a new round");
        await prometheus.WaitForAsync("gencluster_restarts_total", r => r.Count == 1 && r[0].Value >= 1, Patience);
        await prometheus.WaitForAsync("gencluster_recovery_seconds_count", r => r.Count == 1 && r[0].Value >= 1, Patience);
        await prometheus.WaitForAsync("gencluster_lost_steps_total", r => r.Count == 1, Patience);
        var newRound = recovered.CurrentRound.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await prometheus.WaitForAsync(Selector("gencluster_trainer_steps_total", jobId),
            r => r.Count == 2 && r.All(s => s.Labels["round"] == newRound), Patience);

        // Every dashboard panel's query returns data for this job.
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(RepoPaths.Of("deploy", "grafana", "gencluster.json")));
        var queries = Panels(dashboard.RootElement).SelectMany(p => p.GetProperty("targets").EnumerateArray()
            .Select(t => (Title: p.GetProperty("title").GetString()!, Expr: t.GetProperty("expr").GetString()!))).ToList();
        Assert.NotEmpty(queries);
        foreach (var (title, expr) in queries)
            await prometheus.WaitForAsync(expr.Replace("$job_id", jobId, StringComparison.Ordinal), r => r.Count > 0, Patience);

        // The cluster's disposal stops the job's processes.
    }

    /// <summary>The series of <paramref name="series"/> (a name with or without a label matcher) for one job.</summary>
    private static string Selector(string series, string jobId) =>
        series.EndsWith('}') ? $"{series[..^1]},job_id=\"{jobId}\"}}" : $"{series}{{job_id=\"{jobId}\"}}";

    /// <summary>The shipped config, scraping and re-reading targets every second instead of every few (test time only).</summary>
    private static string FastConfig(string config)
    {
        var text = File.ReadAllText(config);
        var fast = Regex.Replace(text, @"(scrape_interval|evaluation_interval|refresh_interval):\s*\d+[smh]", "$1: 1s");
        Assert.True(Regex.Matches(fast, @"scrape_interval: 1s").Count >= 1 && fast.Contains("refresh_interval: 1s"), $"unexpected scrape config:\n{text}");
        File.WriteAllText(config, fast);
        return config;
    }

    private static IEnumerable<JsonElement> Panels(JsonElement dashboard) =>
        dashboard.GetProperty("panels").EnumerateArray().SelectMany(p =>
            p.TryGetProperty("panels", out var nested) ? nested.EnumerateArray().Prepend(p) : [p])
            .Where(p => p.TryGetProperty("targets", out _));
}
