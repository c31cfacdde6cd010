using System.Net;
using System.Text.Json.Nodes;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Silo.Tests.Api;

/// <summary>The job page's JSON endpoints over a queued job whose run directory the test writes itself.</summary>
public class RunEndpointsTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    private async Task<JobStatus> QueuedJobAsync() => await silo.Client.SubmitAsync(new JobSpec { Name = "page", Steps = 10 });

    [Theory]
    [InlineData("/api/jobs/20260101-120000-abcdef/steps", "'20260101-120000-abcdef' not found")]
    [InlineData("/api/jobs/20260101-120000-abcdef/samples", "'20260101-120000-abcdef' not found")]
    [InlineData("/api/jobs/20260101-120000-abcdef/samples/latest", "'20260101-120000-abcdef' not found")]
    [InlineData("/api/jobs/..%2F..%2Fetc/steps", "'..%2F..%2Fetc' not found: job ids look like 20260101-120000-1a2b3c")]
    [InlineData("/api/jobs/nope", "'nope' not found: job ids look like")]
    public async Task AnUnknownJobIs404NamingTheId(string url, string message)
    {
        var (status, body) = await silo.GetJsonAsync(url);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains(message, body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task StepsAfterNAreOnlyTheLaterRowsWithNaNAsNull()
    {
        var job = await QueuedJobAsync();
        var (_, empty) = await silo.GetJsonAsync($"/api/jobs/{job.Id}/steps");
        Assert.Empty(empty!["rows"]!.AsArray());
        Assert.Null(empty["lastStep"]);

        Directory.CreateDirectory(job.RunDirectory);
        await File.WriteAllTextAsync(Path.Combine(job.RunDirectory, "steps.csv"),
            "round,step,epoch,skipped,loss_d,loss_g\n1,1,0,0,1.5,2\n1,2,0,0,NaN,2.5\n1,3,0,0,0.5,NaN\n1,4,0,0,0.2");

        using var response = await silo.Http.GetAsync($"/api/jobs/{job.Id}/steps?after=1");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("[1,2,0,0,null,2.5]", text);
        var body = JsonNode.Parse(text)!;
        Assert.Equal(["round", "step", "epoch", "skipped", "loss_d", "loss_g"], body["columns"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal([2.0, 3.0], body["rows"]!.AsArray().Select(r => r![1]!.GetValue<double>()));
        Assert.Null(body["rows"]![1]![5]);
        Assert.Equal((job.Id, 1, 3, 2, false), (body["jobId"]!.GetValue<string>(), body["after"]!.GetValue<long>(),
            body["lastStep"]!.GetValue<long>(), body["matched"]!.GetValue<int>(), body["downsampled"]!.GetValue<bool>()));

        var (_, none) = await silo.GetJsonAsync($"/api/jobs/{job.Id}/steps?after=3");
        Assert.Empty(none!["rows"]!.AsArray());
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("ten")]
    [InlineData("1.5")]
    public async Task AnAfterThatIsNotAStepIsRejectedByName(string after)
    {
        var job = await QueuedJobAsync();

        var (status, body) = await silo.GetJsonAsync($"/api/jobs/{job.Id}/steps?after={after}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"'{after}' is not a step number", body!["errors"]!["after"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task TheLatestSampleIsTheHighestStepWithItsStepInAHeader()
    {
        var job = await QueuedJobAsync();
        var (status, missing) = await silo.GetJsonAsync($"/api/jobs/{job.Id}/samples/latest");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains($"job '{job.Id}' has no sample grid yet", missing!["detail"]!.GetValue<string>());
        var (_, list) = await silo.GetJsonAsync($"/api/jobs/{job.Id}/samples");
        Assert.Null(list!["latestStep"]);

        var samples = Directory.CreateDirectory(Path.Combine(job.RunDirectory, "samples")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(samples, "step-000010.png"), [10]);
        await File.WriteAllBytesAsync(Path.Combine(samples, "step-1000000.png"), [137, 80, 78, 71]);
        await File.WriteAllBytesAsync(Path.Combine(samples, "step-999999.png"), [9]);
        await File.WriteAllBytesAsync(Path.Combine(samples, "losses.png"), [0]);

        using var response = await silo.Http.GetAsync($"/api/jobs/{job.Id}/samples/latest");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("1000000", Assert.Single(response.Headers.GetValues("X-Sample-Step")));
        Assert.Equal([137, 80, 78, 71], await response.Content.ReadAsByteArrayAsync());

        (_, list) = await silo.GetJsonAsync($"/api/jobs/{job.Id}/samples");
        Assert.Equal(1_000_000, list!["latestStep"]!.GetValue<long>());
        Assert.Equal([10L, 999_999L, 1_000_000L], list["steps"]!.AsArray().Select(s => s!.GetValue<long>()));
    }
}
