using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;

namespace GenCluster.IntegrationTests;

/// <summary>SIGKILL the silo mid-job and start it again on the same data directory: nothing is lost.</summary>
public sealed class SiloRestartTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("gencluster-restart-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task JobStateAndHistorySurviveSigkillAndTheTrainerCarriesOn()
    {
        using var silo = new SiloProcess(_data, "--lease-seconds", "30");
        await silo.StartAsync();
        var worker = new WorkerInfo("trainer-1", "host-1", "http://127.0.0.1:7101", "http://127.0.0.1:9101", "cpu");

        JobStatus before;
        using (var host = await silo.ConnectClientAsync())
        {
            var registry = host.Client().GetGrain<IWorkerRegistryGrain>(IWorkerRegistryGrain.Key);
            Assert.Null((await registry.Register(worker)).Assignment);

            var submitted = await silo.Api.SubmitAsync(new JobSpec { Name = "survivor", Steps = 100, MinWorkers = 1, MaxWorkers = 1 });
            var reply = await registry.Heartbeat(new Heartbeat(worker.WorkerId, WorkerActivity.Idle, null, 0, null));
            var assignment = reply.Assignment!;
            Assert.Equal((submitted.Id, 1L, 0), (assignment.JobId, assignment.Round, assignment.Rank));

            await registry.Heartbeat(new Heartbeat(worker.WorkerId, WorkerActivity.Training, submitted.Id, 1,
                new TrainingProgress(20, 1, 50, new Dictionary<string, double> { ["loss_d"] = 0.69 })));
            var job = host.Client().GetGrain<IJobGrain>(submitted.Id);
            await job.ReportCheckpoint(1, new CheckpointRef(20, Path.Combine(assignment.RunDirectory, "checkpoints", "20"), "abc123"));
            before = await silo.Api.GetJobAsync(submitted.Id);
            Assert.Equal(JobState.Running, before.State);
            await host.StopAsync();
        }

        silo.Kill();
        await silo.StartAsync();

        var after = await silo.Api.GetJobAsync(before.Id);
        Assert.Equal(before.State, after.State);
        Assert.Equal(before.SubmittedAt, after.SubmittedAt);
        Assert.Equal(before.Spec, after.Spec);
        Assert.Equal(20, after.Progress!.Step);
        Assert.Equal(0.69, after.Progress.Metrics["loss_d"]);
        Assert.Equal(before.LatestCheckpoint, after.LatestCheckpoint);
        Assert.Equal(before.Rounds.Select(r => (r.Number, r.FormedAt, r.Members.Count)), after.Rounds.Select(r => (r.Number, r.FormedAt, r.Members.Count)));
        Assert.Equal(before.History.Select(h => (h.At, h.Kind, h.Message)), after.History.Select(h => (h.At, h.Kind, h.Message)));
        Assert.Equal(["submitted", "round-formed", "round-running", "checkpoint"], after.History.Select(h => h.Kind));

        // The trainer reconnects on its own: same assignment, and the job finishes from durable state.
        using (var host = await silo.ConnectClientAsync())
        {
            var registry = host.Client().GetGrain<IWorkerRegistryGrain>(IWorkerRegistryGrain.Key);
            var reply = await registry.Heartbeat(new Heartbeat(worker.WorkerId, WorkerActivity.Training, before.Id, 1,
                new TrainingProgress(100, 4, 50, new Dictionary<string, double>())));
            Assert.False(reply.MustRegister);
            Assert.Equal((before.Id, 1L, 0), (reply.Assignment!.JobId, reply.Assignment.Round, reply.Assignment.Rank));
            await host.Client().GetGrain<IJobGrain>(before.Id).ReportCompleted(1, 0, 100);
            await host.StopAsync();
        }
        var done = await silo.Api.GetJobAsync(before.Id);
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.Equal(100, done.Progress!.Step);
    }
}
