using GenCluster.Contracts.Jobs;

namespace GenCluster.IntegrationTests;

/// <summary>Two silo processes against one real redis-server (and one CA: silo-to-silo traffic is TLS) form one cluster and see the same jobs.</summary>
public sealed class RedisClusterTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("gencluster-redis-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task TwoSilosShareJobs()
    {
        using var redis = await RedisServer.StartAsync();
        using var a = new SiloProcess(Path.Combine(_data, "a"), "--clustering", "redis", "--redis", redis.Endpoint);
        using var b = new SiloProcess(Path.Combine(_data, "b"), a.Credentials.Tls, "--clustering", "redis", "--redis", redis.Endpoint);
        await a.StartAsync();
        await b.StartAsync(silos: 2);
        await a.WaitHealthyAsync(silos: 2);

        var submitted = await a.Api.SubmitAsync(new JobSpec { Name = "shared", Steps = 10, RunsDirectory = Path.Combine(_data, "runs") });
        var seenByB = await b.Api.GetJobAsync(submitted.Id);
        Assert.Equal(("shared", JobState.Queued), (seenByB.Spec.Name, seenByB.State));
        Assert.Contains(await b.Api.ListJobsAsync(), j => j.Id == submitted.Id);

        var second = await b.Api.SubmitAsync(new JobSpec { Name = "from-b", Steps = 10 });
        Assert.Equal([submitted.Id, second.Id], (await a.Api.ListJobsAsync()).Select(j => j.Id));

        Assert.Equal(JobState.Cancelled, (await b.Api.CancelAsync(submitted.Id)).State);
        Assert.Equal(JobState.Cancelled, (await a.Api.GetJobAsync(submitted.Id)).State);
        Assert.False(Directory.Exists(Path.Combine(_data, "a", "state")), "redis mode must not write file grain state");
    }
}
