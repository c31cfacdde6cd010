using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Grains.Jobs;
using GenCluster.Grains.Scheduling;
using GenCluster.Grains.Workers;
using GenCluster.Silo.Auth;

namespace GenCluster.Silo.Api;

/// <summary>The JSON HTTP API: jobs, workers, health.</summary>
public static class JobsEndpoints
{
    /// <summary>
    /// Maps <c>/api/jobs</c> and <c>/api/workers</c>: everything under <c>/api</c> needs a read token, submitting and
    /// cancelling an admin token. Endpoints added to the <c>/api</c> group inherit the read requirement.
    /// </summary>
    public static IEndpointRouteBuilder MapGenClusterEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireScope(ApiScope.Read);
        var jobs = api.MapGroup("/jobs");
        jobs.MapPost("", SubmitAsync).RequireScope(ApiScope.Admin);
        jobs.MapGet("", async (IGrainFactory grains) =>
        {
            var ids = await Scheduler(grains).ListJobs();
            var statuses = await Task.WhenAll(ids.Select(id => grains.GetGrain<IJobGrain>(id).GetStatus()));
            return Results.Ok(statuses.OfType<JobStatus>().ToArray());
        });
        jobs.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await JobLookup.FindAsync(grains, id) is { } status ? Results.Ok(status) : JobLookup.NotFound(id));
        jobs.MapPost("/{id}/cancel", async (string id, IGrainFactory grains) =>
        {
            if (await JobLookup.FindAsync(grains, id) is not { } before) return JobLookup.NotFound(id);
            if (before.IsTerminal)
                return Results.Problem($"job '{id}' is already {before.State}", statusCode: StatusCodes.Status409Conflict);
            var after = await Scheduler(grains).Cancel(id, "cancelled via the API");
            return after is null ? JobLookup.NotFound(id) : Results.Ok(after);
        }).RequireScope(ApiScope.Admin);

        api.MapGet("/workers", async (IGrainFactory grains) =>
            Results.Ok(await grains.GetGrain<IWorkerDirectoryGrain>(IWorkerRegistryGrain.Key).GetWorkers()));
        return app;
    }

    /// <summary>Maps <c>/health</c>: "ok" and the number of active silos.</summary>
    public static RouteHandlerBuilder MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet("/health", async (IGrainFactory grains) =>
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            return Results.Ok(new HealthReport("ok", hosts.Count));
        });

    private static async Task<IResult> SubmitAsync(HttpRequest request, IGrainFactory grains)
    {
        JobSpec? spec;
        try
        {
            spec = await JsonSerializer.DeserializeAsync<JobSpec>(request.Body, ApiJson.Strict, request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
            return Results.ValidationProblem(new Dictionary<string, string[]> { [field] = [e.Message] },
                title: "The job spec is not valid JSON for a JobSpec");
        }

        var errors = JobSpecValidator.Validate(spec);
        if (errors.Count > 0) return Results.ValidationProblem(errors, title: "The job spec has invalid fields");

        var status = await Scheduler(grains).Submit(spec!);
        return Results.Created($"/api/jobs/{status.Id}", status);
    }

    private static ISchedulerGrain Scheduler(IGrainFactory grains) => grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);
}

/// <summary>The <c>/health</c> answer.</summary>
/// <param name="Status"><c>ok</c> when the silo answers.</param>
/// <param name="Silos">Active silos in the cluster.</param>
public sealed record HealthReport(string Status, int Silos);
