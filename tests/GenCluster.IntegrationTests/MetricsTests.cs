using System.Diagnostics;
using System.Net;
using GenCluster.Contracts.Jobs;

namespace GenCluster.IntegrationTests;

/// <summary>/metrics carries GenCluster's and Orleans' families and passes <c>promtool check metrics</c>.</summary>
public sealed class MetricsTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("gencluster-metrics-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task MetricsPassPromtoolAndDashboardAnswers()
    {
        using var silo = new SiloProcess(_data);
        await silo.StartAsync();
        await silo.Api.SubmitAsync(new JobSpec { Name = "metered", Steps = 10 });

        // The jobs gauge is refreshed from the scheduler every 2 s: poll until the queued job shows.
        string text = "";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            text = await silo.Http.GetStringAsync("/metrics");
            if (text.Contains("gencluster_jobs{otel_scope_name=\"GenCluster.Silo\",state=\"queued\"} 1")) break;
            await Task.Delay(250);
        }
        Assert.Contains("gencluster_jobs{otel_scope_name=\"GenCluster.Silo\",state=\"queued\"} 1", text);
        foreach (var family in new[]
                 {
                     "gencluster_workers_alive", "gencluster_rounds_formed_total", "gencluster_restarts_total",
                     "gencluster_lease_expiries_total", "gencluster_preemptions_total", "gencluster_lost_steps_total",
                     "orleans_catalog_activations", "orleans_app_requests_latency_seconds_bucket",
                 })
        {
            Assert.Contains($"\n{family}", text);
        }
        Assert.DoesNotContain("_milliseconds", text);

        var psi = new ProcessStartInfo("promtool", "check metrics")
            { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var promtool = Process.Start(psi)!;
        var stdout = promtool.StandardOutput.ReadToEndAsync();
        var stderr = promtool.StandardError.ReadToEndAsync();
        await promtool.StandardInput.WriteAsync(text);
        promtool.StandardInput.Close();
        Assert.True(promtool.WaitForExit(30_000), "promtool did not finish within 30 s");
        var problems = (await stdout) + (await stderr);
        Assert.True(promtool.ExitCode == 0 && problems.Trim().Length == 0, $"promtool check metrics: {problems}");

        using var dashboard = await silo.Http.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("api        http://127.0.0.1:", silo.Output);

        // Without a token neither /metrics nor the dashboard answers (the silo runs with the default options).
        using var anonymous = new HttpClient { BaseAddress = new Uri(silo.Address) };
        foreach (var path in new[] { "/metrics", "/dashboard/" })
        {
            using var refused = await anonymous.GetAsync(path);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"GET {path} without a token: {refused.StatusCode}");
        }
        Assert.Contains("auth       bearer tokens: 1 admin, 1 read; /metrics needs a token", silo.Output);
    }
}
