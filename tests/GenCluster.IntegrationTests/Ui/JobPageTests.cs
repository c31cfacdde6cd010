using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using GenCluster.Contracts.Jobs;
using GenCluster.IntegrationTests.Faults;
using GenCluster.Silo.Runs;
using PuppeteerSharp;
using Xunit.Abstractions;

namespace GenCluster.IntegrationTests.Ui;

/// <summary>
/// The job page in a real headless Chromium (Debian's <c>chromium</c>) over a real silo and two real trainers training
/// a tiny DCGAN: it follows the run without a reload and without a console error, and shows the newest sample grid.
/// A screenshot of the finished page is left at <see cref="ScreenshotPath"/>; the README's <c>docs/images/job-page.png</c>
/// is one of these, copied by hand so a test run never changes the source tree.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class JobPageTests(ITestOutputHelper log)
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    /// <summary>Where the screenshot of the finished job page is written.</summary>
    public static string ScreenshotPath => Path.Combine(AppContext.BaseDirectory, "screenshots", "job-page.png");

    [Fact]
    public async Task TheJobPageFollowsARunAndShowsTheNewestSampleGrid()
    {
        Assert.True(File.Exists(Chromium),
            $"{Chromium} is missing: the job page test drives Debian's chromium (apt-get install chromium; scripts/prereqs.sh does it)");
        var watch = Stopwatch.StartNew();
        // Patient lease and collective deadline: a busy 2-core machine ended rounds at the fault tests' 5 s deadline, and this
        // test is about the page, not about failure detection.
        using var cluster = new FaultCluster(leaseSeconds: 10, collectiveTimeoutSeconds: 30);
        await cluster.Silo.StartAsync();
        var spec = cluster.Spec(steps: 60, minWorkers: 2, maxWorkers: 2, name: "job-page") with { SampleEvery = 10, CheckpointEvery = 20 };
        var job = await cluster.Silo.Api.SubmitAsync(spec);

        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Root (CI) cannot use Chromium's sandbox; containers have a small /dev/shm.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
        await using var page = await browser.NewPageAsync();
        var errors = CollectErrors(page);
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 900 });
        // As gencluster local prints it: a read token in the fragment, which the page keeps for the tab and takes out of the address.
        var token = cluster.Silo.Credentials.ReadToken;
        await page.GoToAsync($"{cluster.Silo.Address}/ui/jobs/{job.Id}#token={token}");

        // Opened before any trainer exists: the page shows the queued job with no curve point, then follows it without a
        // reload. The points are counted on the loss_d curve.
        const string points = "Number(document.querySelector('.curve[data-metric=loss_d] canvas')?.dataset.points ?? 0)";
        await WaitForAsync(page, "document.querySelector('#state .state')?.textContent", "Queued", cluster);
        Assert.Equal("job-page", await page.EvaluateExpressionAsync<string>("document.getElementById('name').textContent"));
        Assert.Equal(0, await page.EvaluateExpressionAsync<double>(points));
        Assert.Equal("", await page.EvaluateExpressionAsync<string>("location.hash"));
        cluster.StartTrainer();
        cluster.StartTrainer();
        // Waited for through the API first, with its own generous deadlines: the page's waits are then about the page.
        await cluster.WaitForWorkersAsync(2, TimeSpan.FromMinutes(3));
        await cluster.WaitForAsync(job.Id, s => s.Progress?.Step > 0, TimeSpan.FromMinutes(3), "past its first step");

        const string members = "[...document.querySelectorAll('#rounds tbody .members li')].map(li => li.textContent).join(' | ')";
        var shown = await WaitForAsync(page, members, (string m) => m.Contains("faults-0") && m.Contains("faults-1"), cluster, "both trainers in the round");
        log.WriteLine($"round members shown: {shown}");
        await WaitForAsync(page, "document.querySelector('#state .state')?.textContent", (string s) => s is "Running" or "Succeeded", cluster, "running");
        var first = await WaitForAsync(page, points, (double p) => p > 0, cluster, "a loss_d point");

        var final = await cluster.WaitForAsync(job.Id, s => s.State == JobState.Succeeded, TimeSpan.FromMinutes(5), "succeeded");
        var newest = SampleGrids.InRun(final.RunDirectory)[^1];
        Assert.Equal(spec.Steps, newest.Step);
        const string sample = "(() => { const img = document.getElementById('sample');" +
                              " return img.complete && img.naturalWidth > 0 && !img.hidden ? img.dataset.step : ''; })()";
        await WaitForAsync(page, sample, newest.Step.ToString(CultureInfo.InvariantCulture), cluster);
        await WaitForAsync(page, "document.getElementById('last-step').dataset.step", spec.Steps.ToString(CultureInfo.InvariantCulture), cluster);
        // Every step once, also those trained again after a recovery; the first count came from a still-running job.
        var last = await WaitForAsync(page, points, (double p) => p == spec.Steps, cluster, $"{spec.Steps} loss_d points");
        log.WriteLine($"loss_d points: 0 while queued, {first} while running, {last} at the end ({watch.Elapsed.TotalSeconds:F0} s)");
        await WaitForAsync(page, "document.getElementById('updated').textContent", (string u) => u.StartsWith("final", StringComparison.Ordinal), cluster, "polling ended");
        Assert.Equal(final.Checkpoints.Count, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#checkpoints tbody tr').length"));
        Assert.Equal("Succeeded", await page.EvaluateExpressionAsync<string>("document.querySelector('#state .state').textContent"));

        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        await page.ScreenshotAsync(ScreenshotPath, new ScreenshotOptions { FullPage = true });
        log.WriteLine($"screenshot: {ScreenshotPath}");

        // The job list links to the page.
        await page.GoToAsync($"{cluster.Silo.Address}/ui");
        await WaitForAsync(page, $"document.querySelector('#jobs a[href=\"/ui/jobs/{job.Id}\"]')?.textContent", job.Id, cluster);
        Assert.True(errors.IsEmpty, $"the pages reported errors:\n{string.Join("\n", errors)}");
        Assert.Contains($"jobs page  {cluster.Silo.Address}/ui", cluster.Silo.Output);

        // An unknown job is a readable error, not a blank page (the browser itself logs the API's 404).
        await using var missing = await browser.NewPageAsync();
        await missing.GoToAsync($"{cluster.Silo.Address}/ui/jobs/20990101-000000-abcdef#token={token}");
        await WaitForAsync(missing, "document.getElementById('error').hidden ? '' : document.getElementById('error').textContent",
            (string e) => e.Contains("job '20990101-000000-abcdef' not found", StringComparison.Ordinal), cluster, "the not-found message");

        // A tab without a token sees no job, only the silo's 401 and a form asking for a token; given one, it lists the job.
        await using var stranger = await browser.NewPageAsync();
        await stranger.GoToAsync($"{cluster.Silo.Address}/ui");
        await WaitForAsync(stranger, "document.getElementById('login').hidden ? '' : document.getElementById('login-why').textContent",
            (string why) => why.Contains("wants an API token", StringComparison.Ordinal), cluster, "the token form");
        Assert.Equal(0, await stranger.EvaluateExpressionAsync<int>("document.querySelectorAll('#jobs a').length"));
        await stranger.TypeAsync("#login-token", token);
        await Task.WhenAll(stranger.WaitForNavigationAsync(), stranger.ClickAsync("#login button"));
        await WaitForAsync(stranger, $"document.querySelector('#jobs a[href=\"/ui/jobs/{job.Id}\"]')?.textContent", job.Id, cluster);
        Assert.True(await stranger.EvaluateExpressionAsync<bool>("document.getElementById('login').hidden"));
        log.WriteLine($"browser test took {watch.Elapsed.TotalSeconds:F0} s");
    }

    private static ConcurrentQueue<string> CollectErrors(IPage page)
    {
        var errors = new ConcurrentQueue<string>();
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error) errors.Enqueue($"console error: {e.Message.Text} ({e.Message.Location?.URL})");
        };
        page.PageError += (_, e) => errors.Enqueue($"page error: {e.Message}");
        page.RequestFailed += (_, e) => errors.Enqueue($"request failed: {e.Request.Url}: {e.Request.FailureText}");
        page.Response += (_, e) =>
        {
            if ((int)e.Response.Status >= 400) errors.Enqueue($"HTTP {(int)e.Response.Status}: {e.Response.Url}");
        };
        return errors;
    }

    private static Task WaitForAsync(IPage page, string expression, string expected, FaultCluster cluster) =>
        WaitForAsync(page, expression, (string value) => value == expected, cluster, $"'{expected}'");

    /// <summary>
    /// Evaluates <paramref name="expression"/> in the page until <paramref name="done"/> holds; 90 s at most, as the
    /// silo already shows what the page should (it polls every 2 s).
    /// </summary>
    private static async Task<T> WaitForAsync<T>(IPage page, string expression, Func<T, bool> done, FaultCluster cluster, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        T value = default!;
        while (DateTime.UtcNow < deadline)
        {
            value = await page.EvaluateExpressionAsync<T>(expression);
            if (value is not null && done(value)) return value;
            await Task.Delay(Poll);
        }
        throw new TimeoutException($"the page did not show {what} within 90 s: {expression} = '{value}'\n{cluster.Logs()}");
    }
}
