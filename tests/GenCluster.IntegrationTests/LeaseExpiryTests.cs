using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;

namespace GenCluster.IntegrationTests;

/// <summary>A trainer that stops heartbeating in a real silo loses its lease; its job re-forms from the survivor.</summary>
public sealed class LeaseExpiryTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("gencluster-lease-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task SilentWorkerExpiresAndTheRoundIsReformed()
    {
        using var silo = new SiloProcess(_data, "--lease-seconds", "3");
        await silo.StartAsync();
        using var host = await silo.ConnectClientAsync();
        var registry = host.Client().GetGrain<IWorkerRegistryGrain>(IWorkerRegistryGrain.Key);
        await registry.Register(new WorkerInfo("alive", "host-a", "http://127.0.0.1:7201", "http://127.0.0.1:9201", "cpu"));
        // The live worker heartbeats on its own clock from now on, as a trainer does, however slowly the API answers below.
        string? jobId = null;
        using var stop = new CancellationTokenSource();
        var beating = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var current = Volatile.Read(ref jobId);
                await registry.Heartbeat(current is null
                    ? new Heartbeat("alive", WorkerActivity.Idle, null, 0, null)
                    : new Heartbeat("alive", WorkerActivity.Training, current, 1, null));
                await Task.Delay(200);
            }
        });
        await registry.Register(new WorkerInfo("silent", "host-s", "http://127.0.0.1:7202", "http://127.0.0.1:9202", "cpu"));
        var job = await silo.Api.SubmitAsync(new JobSpec { Name = "lease", Steps = 100, MinWorkers = 1, MaxWorkers = 2 });
        Volatile.Write(ref jobId, job.Id);
        Assert.Equal(2, job.Rounds[^1].Members.Count);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        JobStatus status;
        do
        {
            Assert.True(DateTime.UtcNow < deadline, "the silent worker's lease did not expire within 30 s");
            status = await silo.Api.GetJobAsync(job.Id);
            await Task.Delay(250);
        } while (status.CurrentRound < 2);
        await stop.CancelAsync();
        await beating;

        Assert.Contains(status.History, h => h.Kind == "round-failed" && h.Message.Contains("lease of worker silent on host host-s expired"));
        Assert.Equal(["alive"], status.Rounds[^1].Members.Select(m => m.WorkerId));
        Assert.Equal(1, status.Restarts);
        var next = (await registry.Heartbeat(new Heartbeat("alive", WorkerActivity.Training, job.Id, 1, null))).Assignment!;
        Assert.Equal((2L, 0, 1), (next.Round, next.Rank, next.WorldSize));
        var workers = await silo.Api.ListWorkersAsync();
        Assert.False(workers.Single(w => w.Info.WorkerId == "silent").Alive);
        Assert.True(workers.Single(w => w.Info.WorkerId == "alive").Alive);

        var metrics = await silo.Http.GetStringAsync("/metrics");
        Assert.Contains("gencluster_lease_expiries_total{otel_scope_name=\"GenCluster.Silo\"} 1", metrics);
        Assert.Contains("gencluster_restarts_total{otel_scope_name=\"GenCluster.Silo\"} 1", metrics);
        Assert.Contains("gencluster_rounds_formed_total{otel_scope_name=\"GenCluster.Silo\"} 2", metrics);
        await host.StopAsync();
    }
}
