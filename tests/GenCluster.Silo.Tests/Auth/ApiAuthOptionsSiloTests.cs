using System.Net;
using System.Text;
using GenCluster.Silo.Tests.Api;

namespace GenCluster.Silo.Tests.Auth;

/// <summary>The options that open endpoints, each on a silo of its own.</summary>
public class ApiAuthOptionsSiloTests
{
    private static async Task<T> With<T>(Dictionary<string, string?> settings, Func<InProcessSilo, Task<T>> test)
    {
        var silo = new InProcessSilo { Settings = settings };
        await silo.InitializeAsync();
        try
        {
            return await test(silo);
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("OpenMetrics", "/metrics", "/health")]
    [InlineData("OpenHealth", "/health", "/metrics")]
    public async Task AnOpenedMonitoringEndpointAnswersWithoutATokenAndNothingElseDoes(string option, string open, string closed)
    {
        var answers = await With(new() { [$"Auth:{option}"] = "true" }, async silo =>
        {
            using var anonymous = silo.HttpWith(null);
            var result = new Dictionary<string, HttpStatusCode>();
            foreach (var path in new[] { open, closed, "/api/jobs", "/dashboard/" })
            {
                using var response = await anonymous.GetAsync(path);
                result[path] = response.StatusCode;
            }
            return result;
        });

        Assert.Equal(HttpStatusCode.OK, answers[open]);
        Assert.All(answers.Where(a => a.Key != open), a => Assert.True(a.Value == HttpStatusCode.Unauthorized, $"{a.Key}: {a.Value}"));
    }

    [Fact]
    public async Task WithNoAuthACallerWithoutATokenIsAdmin()
    {
        var (submitted, cancelled, dashboard) = await With(new() { ["Auth:TokenFile"] = "", ["Auth:NoAuth"] = "true" }, async silo =>
        {
            using var anonymous = silo.HttpWith(null);
            using var submit = await anonymous.PostAsync("/api/jobs",
                new StringContent("""{ "name": "open", "steps": 5 }""", Encoding.UTF8, "application/json"));
            var id = (await new GenCluster.Silo.Api.GenClusterApiClient(anonymous).ListJobsAsync()).Single().Id;
            using var cancel = await anonymous.PostAsync($"/api/jobs/{id}/cancel", null);
            using var page = await anonymous.GetAsync("/dashboard/");
            return (submit.StatusCode, cancel.StatusCode, page.StatusCode);
        });

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.OK), (submitted, cancelled, dashboard));
    }
}
