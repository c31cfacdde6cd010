using GenCluster.Contracts.Jobs;
using GenCluster.Grains.Jobs;

namespace GenCluster.Silo.Api;

/// <summary>Finds a job by the id in a request; an id that is not of the job id form never reaches a grain.</summary>
internal static class JobLookup
{
    /// <summary>The job's status, or null when there is no such job (answer <see cref="NotFound"/> then).</summary>
    public static async Task<JobStatus?> FindAsync(IGrainFactory grains, string id) =>
        JobId.IsWellFormed(id) ? await grains.GetGrain<IJobGrain>(id).GetStatus() : null;

    /// <summary>404 with a problem naming the id (and the id form, when it is not one).</summary>
    public static IResult NotFound(string id) => Results.Problem(
        JobId.IsWellFormed(id) ? $"job '{id}' not found" : $"job '{id}' not found: job ids look like {JobId.Example}",
        statusCode: StatusCodes.Status404NotFound);
}
