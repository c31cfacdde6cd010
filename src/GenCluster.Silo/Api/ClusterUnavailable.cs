using Orleans.Runtime;

namespace GenCluster.Silo.Api;

/// <summary>
/// While a failed silo is not yet declared dead, calls to the grains it held fail. The API answers those with 503 and
/// <c>Retry-After</c> (the state is safe, the cluster is taking over) rather than a bare 500.
/// </summary>
public static class ClusterUnavailable
{
    /// <summary>Seconds a client should wait before asking again.</summary>
    public const int RetryAfterSeconds = 2;

    /// <summary>True for the failures of a call that reached no live activation: a silo gone, a message rejected, a call timed out.</summary>
    public static bool IsTransient(Exception exception) =>
        exception is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException;

    /// <summary>Answers transient cluster failures of any later endpoint with 503 and a problem body naming the cause.</summary>
    public static IApplicationBuilder UseClusterUnavailableAs503(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (IsTransient(ex) && !context.Response.HasStarted)
        {
            context.Response.Clear();
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Results.Problem(
                $"the cluster is taking over from a failed silo; ask again in {RetryAfterSeconds} s ({ex.GetType().Name}: {ex.Message})",
                statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
        }
    });
}
