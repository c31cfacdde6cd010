using System.Net;
using GenCluster.Silo.Tests.Api;

namespace GenCluster.Silo.Tests.Ui;

public class UiEndpointsTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    [Theory]
    [InlineData("/ui", "text/html", "/ui/assets/ui.js")]
    [InlineData("/ui/jobs/20260101-120000-abcdef", "text/html", "/ui/assets/ui.js")]
    [InlineData("/ui/jobs/not-a-job", "text/html", "/ui/assets/ui.js")]
    [InlineData("/ui/assets/ui.js", "text/javascript", "/ui/assets/job.js")]
    [InlineData("/ui/assets/jobs.js", "text/javascript", "export function show()")]
    [InlineData("/ui/assets/job.js", "text/javascript", "export function show(id)")]
    [InlineData("/ui/assets/chart.js", "text/javascript", "export function drawLineChart")]
    [InlineData("/ui/assets/common.js", "text/javascript", "export async function getJson")]
    [InlineData("/ui/assets/ui.css", "text/css", ".card")]
    public async Task PagesAndAssetsAreServedWithoutAToken(string url, string mediaType, string content)
    {
        // The shell holds no data, so a browser can load it before it has a token; the data below needs one.
        using var anonymous = silo.HttpWith(null);
        using var response = await anonymous.GetAsync(url);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(content, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/ui/assets/missing.js")]
    [InlineData("/ui/assets/..%2FGenCluster.Silo.csproj")]
    [InlineData("/ui/assets/gencluster.dll")]
    public async Task AnythingElseUnderAssetsIs404(string url)
    {
        using var response = await silo.Http.GetAsync(url);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/jobs")]
    [InlineData("/api/jobs/20260101-120000-abcdef")]
    [InlineData("/api/jobs/20260101-120000-abcdef/steps?after=0")]
    [InlineData("/api/jobs/20260101-120000-abcdef/samples")]
    [InlineData("/api/jobs/20260101-120000-abcdef/samples/latest")]
    public async Task WhatThePagesFetchNeedsAToken(string url)
    {
        using var anonymous = silo.HttpWith(null);
        using var response = await anonymous.GetAsync(url);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task TheRootLeadsToTheJobList()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(silo.Address) };
        using var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/ui", response.Headers.Location!.OriginalString);
    }
}
