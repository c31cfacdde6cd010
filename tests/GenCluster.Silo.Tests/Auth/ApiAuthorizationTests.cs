using System.Net;
using System.Net.Http.Json;
using System.Text;
using GenCluster.Contracts.Jobs;
using GenCluster.Silo.Api;
using GenCluster.Silo.Tests.Api;

namespace GenCluster.Silo.Tests.Auth;

/// <summary>The real silo's HTTP endpoints with the default options: every one needs a token, submit and cancel an admin one.</summary>
public class ApiAuthorizationTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    private const string Spec = """{ "name": "auth", "steps": 10 }""";

    private static readonly string[] ReadPaths = ["/api/jobs", "/api/jobs/nope", "/api/workers", "/health", "/metrics"];

    private async Task<string[]> JobIds() => [.. (await silo.Client.ListJobsAsync()).Select(j => j.Id).Order(StringComparer.Ordinal)];

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Challenge(HttpResponseMessage response) => response.Headers.NonValidated["WWW-Authenticate"].ToString();

    [Fact]
    public async Task WithoutATokenEverythingIs401WithABearerChallengeAndASubmitChangesNothing()
    {
        var before = await JobIds();
        using var anonymous = silo.HttpWith(null);

        using var submit = await anonymous.PostAsync("/api/jobs", Json(Spec));
        Assert.Equal(HttpStatusCode.Unauthorized, submit.StatusCode);
        Assert.Equal("Bearer realm=\"gencluster\"", Challenge(submit));
        Assert.Contains("no token", await submit.Content.ReadAsStringAsync());
        Assert.Equal(before, await JobIds());

        foreach (var path in ReadPaths.Concat(["/dashboard/", "/no-such-page"]))
        {
            using var response = await anonymous.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"GET {path}: {response.StatusCode}");
        }
        using var cancel = await anonymous.PostAsync($"/api/jobs/{before.FirstOrDefault() ?? "x"}/cancel", null);
        Assert.Equal(HttpStatusCode.Unauthorized, cancel.StatusCode);
    }

    [Fact]
    public async Task AReadTokenReadsButSubmitAndCancelAre403AndChangeNothing()
    {
        var job = await silo.Client.SubmitAsync(new JobSpec { Name = "read-scope", Steps = 10 });
        var before = await JobIds();
        using var http = silo.HttpWith(silo.ReadToken);
        var reader = new GenClusterApiClient(http);

        Assert.Equal(job.Id, (await reader.GetJobAsync(job.Id)).Id);
        Assert.Equal(before, (await reader.ListJobsAsync()).Select(j => j.Id).Order(StringComparer.Ordinal));
        Assert.NotNull(await reader.ListWorkersAsync());
        Assert.Equal("ok", (await reader.HealthAsync()).Status);
        using (var metrics = await http.GetAsync("/metrics")) Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);

        var submit = await Assert.ThrowsAsync<GenClusterApiException>(() => reader.SubmitAsync(Spec));
        Assert.Equal((403, "token 'prometheus' lacks admin scope: POST /api/jobs needs admin, the token has read"), (submit.StatusCode, submit.Message));
        var cancel = await Assert.ThrowsAsync<GenClusterApiException>(() => reader.CancelAsync(job.Id));
        Assert.Equal(403, cancel.StatusCode);
        Assert.Contains($"POST /api/jobs/{job.Id}/cancel needs admin", cancel.Message);

        using var raw = await http.PostAsync("/api/jobs", Json(Spec));
        Assert.Equal("Bearer realm=\"gencluster\", error=\"insufficient_scope\", scope=\"admin\"", Challenge(raw));
        using var dashboard = await http.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.Forbidden, dashboard.StatusCode);

        Assert.Equal(before, await JobIds());
        Assert.Equal(job.State, (await silo.Client.GetJobAsync(job.Id)).State);
    }

    [Fact]
    public async Task AnAdminTokenSubmitsCancelsAndSeesTheDashboard()
    {
        using var submitted = await silo.Http.PostAsync("/api/jobs", Json(Spec));
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        var id = (await submitted.Content.ReadFromJsonAsync<JobStatus>(ApiJson.Options))!.Id;
        Assert.Equal(JobState.Cancelled, (await silo.Client.CancelAsync(id)).State);
        foreach (var path in ReadPaths.Where(p => p != "/api/jobs/nope").Append("/dashboard/"))
        {
            using var response = await silo.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {response.StatusCode}");
        }
    }

    [Theory]
    [InlineData("Bearer", "malformed")]
    [InlineData("Basic dXNlcjpwYXNzd29yZA==", "malformed")]
    [InlineData("Token {admin}", "malformed")]
    [InlineData("Bearer {admin} {admin}", "malformed")]
    [InlineData("Bearer{admin}", "malformed")]
    [InlineData("Bearer {ADMIN}", "unknown")]
    [InlineData("Bearer {admin}0", "unknown")]
    [InlineData("Bearer {admin-1}", "unknown")]
    [InlineData("Bearer 0123456789abcdef0123456789abcdef", "unknown")]
    public async Task MalformedUnknownAndMiscasedTokensAre401(string header, string reason)
    {
        var before = await JobIds();
        var value = header.Replace("{admin}", silo.AdminToken).Replace("{ADMIN}", silo.AdminToken.ToUpperInvariant())
            .Replace("{admin-1}", silo.AdminToken[..^1]);
        using var anonymous = silo.HttpWith(null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = Json(Spec) };
        Assert.True(request.Headers.TryAddWithoutValidation("Authorization", value));

        using var response = await anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Challenge(response);
        Assert.StartsWith("Bearer realm=\"gencluster\", error=\"invalid_token\"", challenge);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(silo.AdminToken, challenge + await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, await JobIds());
    }

    [Fact]
    public async Task TheSchemeIsCaseInsensitive()
    {
        using var http = silo.HttpWith(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/jobs");
        request.Headers.TryAddWithoutValidation("Authorization", $"bearer {silo.ReadToken}");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
