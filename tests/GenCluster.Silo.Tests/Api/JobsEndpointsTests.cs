using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using GenCluster.Contracts.Jobs;
using GenCluster.Silo.Api;

namespace GenCluster.Silo.Tests.Api;

public class JobsEndpointsTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    private async Task<(HttpStatusCode Status, JsonObject Body)> Post(string json)
    {
        using var response = await silo.Http.PostAsync("/api/jobs", new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Fact]
    public async Task AValidSpecIsAcceptedAndCanBeReadListedAndCancelled()
    {
        var (status, body) = await Post("""{ "name": "api-ok", "steps": 50, "minWorkers": 1, "maxWorkers": 2, "model": { "kind": "dcgan", "width": 32 } }""");
        Assert.Equal(HttpStatusCode.Created, status);
        var id = body["id"]!.GetValue<string>();
        Assert.Equal("Queued", body["state"]!.GetValue<string>());

        var job = await silo.Client.GetJobAsync(id);
        Assert.Equal(("api-ok", 50L, 32), (job.Spec.Name, job.Spec.Steps, ((GenCluster.Contracts.Models.GanOptions)job.Spec.Model).Width));
        Assert.Equal(Path.Combine(silo.DataDirectory, "runs", id), job.RunDirectory);
        Assert.Contains(await silo.Client.ListJobsAsync(), j => j.Id == id);

        var cancelled = await silo.Client.CancelAsync(id);
        Assert.Equal(JobState.Cancelled, cancelled.State);
        var again = await Assert.ThrowsAsync<GenClusterApiException>(() => silo.Client.CancelAsync(id));
        Assert.Equal(409, again.StatusCode);
        Assert.Contains("already Cancelled", again.Message);
    }

    [Fact]
    public async Task UnknownFieldsAreRejectedByName()
    {
        var (status, body) = await Post("""{ "name": "x", "stpes": 10 }""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'stpes'", body["errors"]!["$.stpes"]![0]!.GetValue<string>());

        (status, body) = await Post("""{ "model": { "kind": "dcgan", "widht": 8 } }""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'widht'", body["errors"]!["$.model.widht"]![0]!.GetValue<string>());

        (status, body) = await Post("""{ "model": { "kind": "vit" } }""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("model.kind 'vit' is not a model kind; expected one of gan, cgan, dcgan", body["errors"]!["$.model"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task ImpossibleValuesGetFieldLevelErrors()
    {
        var (status, body) = await Post("""{ "steps": 0, "minWorkers": 4, "maxWorkers": 2, "model": { "kind": "wgan-gp", "beta1": 2, "gradientPenalty": 0 } }""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = body["errors"]!.AsObject();
        Assert.Equal(["maxWorkers", "model.beta1", "model.gradientPenalty", "steps"], errors.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Contains("got 0", errors["steps"]![0]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{ "steps": "ten" }""", "$.steps")]
    [InlineData("""{ "name": null }""", "$.name")]
    [InlineData("""[1, 2]""", "$")]
    [InlineData("""{ "steps": 10""", "$.steps")]
    public async Task MalformedJsonIsRejectedNamingThePath(string json, string path)
    {
        var (status, body) = await Post(json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(path, body["errors"]!.AsObject().Select(e => e.Key));
    }

    [Fact]
    public async Task UnknownJobIs404()
    {
        var e = await Assert.ThrowsAsync<GenClusterApiException>(() => silo.Client.GetJobAsync("nope"));
        Assert.Equal(404, e.StatusCode);
        Assert.Contains("'nope'", e.Message);
    }

    [Fact]
    public async Task HealthAndWorkersAnswer()
    {
        Assert.Equal(new HealthReport("ok", 1), await silo.Client.HealthAsync());
        Assert.NotNull(await silo.Client.ListWorkersAsync());
    }
}
