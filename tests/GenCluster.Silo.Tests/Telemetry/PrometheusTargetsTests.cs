using System.Text.Json;
using GenCluster.Contracts.Workers;
using GenCluster.Silo.Telemetry;

namespace GenCluster.Silo.Tests.Telemetry;

public class PrometheusTargetsTests
{
    private static WorkerStatus Worker(string id, bool alive, string metrics = "") =>
        new(new WorkerInfo(id, $"host-{id}", $"http://{id}:7000", metrics.Length > 0 ? metrics : $"http://10.0.0.{id.Length}:91{id.Length}", "cpu"),
            alive, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, 0, -1);

    [Fact]
    public void TrainersAreTheLiveWorkersMetricsEndpointsLabelledWithHostAndWorker()
    {
        var json = PrometheusTargets.Trainers([Worker("bb", true), Worker("a", true), Worker("ccc", false)]);
        using var doc = JsonDocument.Parse(json);
        var groups = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, groups.Count);
        Assert.Equal("10.0.0.1:911", groups[0].GetProperty("targets")[0].GetString());
        Assert.Equal("host-a", groups[0].GetProperty("labels").GetProperty("host").GetString());
        Assert.Equal("bb", groups[1].GetProperty("labels").GetProperty("worker_id").GetString());
        Assert.Equal("[]", PrometheusTargets.Trainers([]).Replace("\n", "").Replace(" ", ""));
    }

    [Fact]
    public void ABadEndpointIsNamedAndTheSiloTargetIsItsHttpPort()
    {
        var ex = Assert.Throws<ArgumentException>(() => PrometheusTargets.Trainers([Worker("w9", true, "tcp://x:1")]));
        Assert.Contains("worker 'w9'", ex.Message);
        Assert.Contains("tcp://x:1", ex.Message);
        using var doc = JsonDocument.Parse(PrometheusTargets.Silo("10.1.2.3", 5080, "ctl"));
        Assert.Equal("10.1.2.3:5080", doc.RootElement[0].GetProperty("targets")[0].GetString());
        Assert.Equal("silo-5080.json", PrometheusTargets.SiloFileName(5080));
    }

    [Fact]
    public void WritesOnlyWhenTheContentChanges()
    {
        var dir = Directory.CreateTempSubdirectory("gencluster-targets-").FullName;
        try
        {
            var path = Path.Combine(dir, "trainers.json");
            Assert.True(PrometheusTargets.WriteIfChanged(path, "[1]"));
            Assert.False(PrometheusTargets.WriteIfChanged(path, "[1]"));
            Assert.True(PrometheusTargets.WriteIfChanged(path, "[2]"));
            Assert.Equal("[2]", File.ReadAllText(path));
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
