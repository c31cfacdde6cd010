using System.Globalization;
using GenCluster.Contracts.Jobs;
using GenCluster.Silo.Local;
using GenCluster.Silo.Runs;

namespace GenCluster.Silo.Api;

/// <summary>
/// What a job's run directory holds, for the job page: the step journal and the sample grids. Only the files named
/// here are read, inside the run directory the job's grain reports; nothing from the request becomes a path.
/// </summary>
public static class RunEndpoints
{
    /// <summary>Most rows one <c>/steps</c> answer carries; more are thinned evenly (first and last kept).</summary>
    public const int MaxStepRows = 2000;

    /// <summary>Response header of <c>/samples/latest</c> carrying the grid's step.</summary>
    public const string SampleStepHeader = "X-Sample-Step";

    /// <summary>Maps <c>/api/jobs/{id}/steps</c>, <c>/api/jobs/{id}/samples</c> and <c>/api/jobs/{id}/samples/latest</c>.</summary>
    public static IEndpointRouteBuilder MapGenClusterRunEndpoints(this IEndpointRouteBuilder app)
    {
        var job = app.MapGroup("/api/jobs/{id}");
        job.MapGet("/steps", StepsAsync);
        job.MapGet("/samples", SamplesAsync);
        job.MapGet("/samples/latest", LatestSampleAsync);
        return app;
    }

    /// <summary>
    /// <c>GET /api/jobs/{id}/steps?after=N</c>: the step journal's rows with a step greater than N (default 0), one per
    /// step, ascending; NaN and infinities are null; at most <see cref="MaxStepRows"/> rows. Empty before the first step.
    /// </summary>
    private static async Task<IResult> StepsAsync(string id, string? after, IGrainFactory grains, CancellationToken ct)
    {
        long afterStep = 0;
        if (after is not null && !long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out afterStep))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]>
                { ["after"] = [$"'{after}' is not a step number: expected a whole number of 0 or more"] });
        }
        if (await JobLookup.FindAsync(grains, id) is not { } status) return JobLookup.NotFound(id);

        var path = Path.Combine(status.RunDirectory, StepJournalReader.FileName);
        StepTable table;
        try
        {
            table = StepTable.Parse(await ReadSharedAsync(path, ct), afterStep, MaxStepRows);
        }
        catch (InvalidDataException e)
        {
            return Results.Problem($"{path}: {e.Message}", statusCode: StatusCodes.Status500InternalServerError);
        }
        var steps = new JobSteps(id, afterStep, table.Columns, table.Rows, table.LastStep, table.Matched, table.Downsampled);
        return Results.Json(steps, ApiJson.Compact);
    }

    /// <summary><c>GET /api/jobs/{id}/samples</c>: the steps that have a sample grid, and the newest.</summary>
    private static async Task<IResult> SamplesAsync(string id, IGrainFactory grains)
    {
        if (await JobLookup.FindAsync(grains, id) is not { } status) return JobLookup.NotFound(id);
        var grids = SampleGrids.InRun(status.RunDirectory);
        return Results.Ok(new JobSamples(id, grids.Count == 0 ? null : grids[^1].Step, grids.Select(g => g.Step).ToList()));
    }

    /// <summary>
    /// <c>GET /api/jobs/{id}/samples/latest</c>: the newest sample grid as <c>image/png</c>, its step in
    /// <see cref="SampleStepHeader"/>; 404 naming the job while there is none.
    /// </summary>
    private static async Task<IResult> LatestSampleAsync(string id, IGrainFactory grains, HttpResponse response)
    {
        if (await JobLookup.FindAsync(grains, id) is not { } status) return JobLookup.NotFound(id);
        if (SampleGrids.InRun(status.RunDirectory).LastOrDefault() is { } newest)
        {
            try
            {
                var png = new FileStream(newest.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                response.Headers[SampleStepHeader] = newest.Step.ToString(CultureInfo.InvariantCulture);
                response.Headers.CacheControl = "no-store";
                return Results.Stream(png, "image/png");
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                // Removed between listing and opening: answer as if it had never been there.
            }
        }
        return Results.Problem(
            $"job '{id}' has no sample grid yet (none in {Path.Combine(status.RunDirectory, SampleGrids.Folder)})",
            statusCode: StatusCodes.Status404NotFound);
    }

    private static async Task<string> ReadSharedAsync(string path, CancellationToken ct)
    {
        try
        {
            // The trainers keep appending: share the file rather than lock them out.
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(ct);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return "";
        }
    }
}

/// <summary>The <c>/api/jobs/{id}/steps</c> answer: step journal rows as numbers.</summary>
/// <param name="JobId">The job.</param>
/// <param name="After">Rows are for steps after this one.</param>
/// <param name="Columns">Column names: <c>round</c>, <c>step</c>, <c>epoch</c>, <c>skipped</c>, then the recipe's metrics.</param>
/// <param name="Rows">One array per step, aligned with <paramref name="Columns"/>, ascending by step; null where the value is not a finite number.</param>
/// <param name="LastStep">The newest step in <paramref name="Rows"/> (ask with <c>after</c> = this next), or null when there are none.</param>
/// <param name="Matched">Steps after <paramref name="After"/> in the journal; more than <paramref name="Rows"/> holds when <paramref name="Downsampled"/>.</param>
/// <param name="Downsampled">True when the rows were thinned to <see cref="RunEndpoints.MaxStepRows"/>.</param>
public sealed record JobSteps(
    string JobId, long After, IReadOnlyList<string> Columns, IReadOnlyList<double?[]> Rows, long? LastStep, int Matched, bool Downsampled);

/// <summary>The <c>/api/jobs/{id}/samples</c> answer.</summary>
/// <param name="JobId">The job.</param>
/// <param name="LatestStep">The step of the newest grid (what <c>/samples/latest</c> serves), or null when there is none yet.</param>
/// <param name="Steps">Every step with a grid, ascending.</param>
public sealed record JobSamples(string JobId, long? LatestStep, IReadOnlyList<long> Steps);
