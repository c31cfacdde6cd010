using System.CommandLine;
using System.Text.Json;
using GenCluster.Silo.Api;

namespace GenCluster.Silo.Cli;

/// <summary>What the API-calling verbs share: the <c>--api</c> and <c>--json</c> options and error reporting.</summary>
internal static class ApiVerb
{
    public static Option<string> Api() => new("--api")
    {
        Description = "Address of the silo's HTTP API",
        DefaultValueFactory = _ => GenClusterApiClient.DefaultAddress,
    };

    public static Option<bool> Json() => new("--json") { Description = "Print JSON instead of a table" };

    /// <summary>Runs <paramref name="call"/> with a client; API and connection errors become a message and exit code 1.</summary>
    public static async Task<int> RunAsync(ParseResult result, Option<string> api, Func<GenClusterApiClient, TextWriter, Task> call)
    {
        var output = result.InvocationConfiguration.Output;
        var error = result.InvocationConfiguration.Error;
        var address = result.GetValue(api)!;
        if (!Uri.TryCreate(address, UriKind.Absolute, out var baseAddress))
        {
            error.WriteLine($"--api: expected an absolute URL such as {GenClusterApiClient.DefaultAddress}, got '{address}'");
            return 1;
        }
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            await call(new GenClusterApiClient(http), output);
            return 0;
        }
        catch (GenClusterApiException e)
        {
            error.WriteLine($"error {e.StatusCode}: {e.Message}");
            foreach (var (field, messages) in e.Errors)
                foreach (var m in messages) error.WriteLine(m.StartsWith(field, StringComparison.Ordinal) ? $"  {m}" : $"  {field}: {m}");
            return 1;
        }
        catch (HttpRequestException e)
        {
            error.WriteLine($"cannot reach the GenCluster API at {address}: {e.Message}");
            return 1;
        }
    }

    public static void WriteJson<T>(TextWriter output, T value) => output.WriteLine(JsonSerializer.Serialize(value, ApiJson.Options));
}
