using System.CommandLine;
using System.Text.Json;
using GenCluster.Silo.Api;
using GenCluster.Silo.Auth;

namespace GenCluster.Silo.Cli;

/// <summary>
/// What the API-calling verbs share: where the API is and which token to send (<c>--api</c>, <c>--token</c>,
/// <c>--token-file</c>, <c>GENCLUSTER_TOKEN</c>), <c>--json</c>, and error reporting.
/// </summary>
internal sealed class ApiVerb
{
    /// <summary>The environment variable holding the token when neither flag gives one.</summary>
    public const string TokenVariable = "GENCLUSTER_TOKEN";

    public Option<string> Api { get; } = new("--api")
    {
        Description = "Address of the silo's HTTP API",
        DefaultValueFactory = _ => GenClusterApiClient.DefaultAddress,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = $"Bearer token for the API (default: ${TokenVariable}); other users may see it in the process list, --token-file or the variable they cannot",
    };

    public Option<FileInfo?> TokenFile { get; } = new("--token-file")
    {
        Description = "File holding the token: the token alone, or a silo token file (its first token is used)",
    };

    public Option<bool> Json { get; } = new("--json") { Description = "Print JSON instead of a table" };

    /// <summary>Adds the shared options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Api, Token, TokenFile, Json }) command.Options.Add(option);
    }

    /// <summary>Runs <paramref name="call"/> with a client; API and connection errors become a message and exit code 1.</summary>
    public async Task<int> RunAsync(ParseResult result, Func<GenClusterApiClient, TextWriter, Task> call)
    {
        var output = result.InvocationConfiguration.Output;
        var error = result.InvocationConfiguration.Error;
        var address = result.GetValue(Api)!;
        if (!Uri.TryCreate(address, UriKind.Absolute, out var baseAddress))
        {
            error.WriteLine($"--api: expected an absolute URL such as {GenClusterApiClient.DefaultAddress}, got '{address}'");
            return 1;
        }
        var (token, problem) = ResolveToken(result);
        if (problem is not null)
        {
            error.WriteLine(problem);
            return 1;
        }
        using var http = GenClusterApiClient.CreateHttp(baseAddress, token);
        try
        {
            await call(new GenClusterApiClient(http), output);
            return 0;
        }
        catch (GenClusterApiException e) when (e.StatusCode is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden)
        {
            error.WriteLine(Refusal(e.StatusCode, token is not null));
            return 1;
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

    /// <summary>What to print when the silo answers 401 (<paramref name="tokenSent"/> or not) or 403.</summary>
    internal static string Refusal(int status, bool tokenSent) => status == StatusCodes.Status403Forbidden
        ? "the silo refused the request: the token lacks admin scope (submit and cancel need an admin token)"
        : tokenSent
            ? $"the silo refused the request: it does not accept this token (check --token, --token-file or {TokenVariable})"
            : $"the silo refused the request: no token (give --token-file <path> or --token <token>, or set {TokenVariable})";

    public static void WriteJson<T>(TextWriter output, T value) => output.WriteLine(JsonSerializer.Serialize(value, ApiJson.Options));

    /// <summary>The token to send: <c>--token</c>, else the first token in <c>--token-file</c>, else the variable; null when none.</summary>
    private (string? Token, string? Problem) ResolveToken(ParseResult result)
    {
        var flag = result.GetValue(Token);
        var file = result.GetValue(TokenFile);
        if (flag is not null && file is not null) return (null, "give --token or --token-file, not both");
        string? token;
        string source;
        if (flag is not null)
        {
            (token, source) = (flag, "--token");
        }
        else if (file is not null)
        {
            source = $"--token-file: {file.FullName}";
            try
            {
                token = ApiTokenFile.FirstToken(File.ReadAllText(file.FullName));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, $"{source}: cannot read it: {e.Message}");
            }
            if (token is null) return (null, $"{source}: holds no token");
        }
        else if (Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } variable)
        {
            (token, source) = (variable, TokenVariable);
        }
        else
        {
            return (null, null);
        }
        return ApiTokenFile.TokenProblem(token) is { } problem ? (null, $"{source}: {problem}") : (token, null);
    }
}
