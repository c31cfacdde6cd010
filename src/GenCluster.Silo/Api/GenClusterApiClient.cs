using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;

namespace GenCluster.Silo.Api;

/// <summary>An API call that failed: the HTTP status and the server's message with any field-level errors.</summary>
public sealed class GenClusterApiException(int statusCode, string message, IReadOnlyDictionary<string, string[]> errors)
    : Exception(message)
{
    /// <summary>HTTP status code.</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>Errors by field (from a 400 validation problem), empty otherwise.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;
}

/// <summary>Typed client of the silo's HTTP API (used by the CLI verbs).</summary>
public sealed class GenClusterApiClient(HttpClient http)
{
    /// <summary>Default API address.</summary>
    public const string DefaultAddress = "http://127.0.0.1:5080";

    /// <summary>
    /// An <see cref="HttpClient"/> for the API at <paramref name="address"/> that sends <paramref name="token"/> (when
    /// given) as <c>Authorization: Bearer</c> on every request; 30 s timeout.
    /// </summary>
    public static HttpClient CreateHttp(Uri address, string? token)
    {
        var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>Submits a job spec given as JSON text; returns the new job's status.</summary>
    public async Task<JobStatus> SubmitAsync(string specJson, CancellationToken ct = default)
    {
        using var content = new StringContent(specJson, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/api/jobs", content, ct);
        return await ReadAsync<JobStatus>(response, ct);
    }

    /// <summary>Submits a job spec.</summary>
    public Task<JobStatus> SubmitAsync(JobSpec spec, CancellationToken ct = default) =>
        SubmitAsync(JsonSerializer.Serialize(spec, ApiJson.Options), ct);

    /// <summary>All jobs.</summary>
    public async Task<IReadOnlyList<JobStatus>> ListJobsAsync(CancellationToken ct = default)
    {
        using var response = await http.GetAsync("/api/jobs", ct);
        return await ReadAsync<JobStatus[]>(response, ct);
    }

    /// <summary>One job; throws <see cref="GenClusterApiException"/> with 404 for an unknown id.</summary>
    public async Task<JobStatus> GetJobAsync(string id, CancellationToken ct = default)
    {
        using var response = await http.GetAsync($"/api/jobs/{Uri.EscapeDataString(id)}", ct);
        return await ReadAsync<JobStatus>(response, ct);
    }

    /// <summary>Cancels a job.</summary>
    public async Task<JobStatus> CancelAsync(string id, CancellationToken ct = default)
    {
        using var response = await http.PostAsync($"/api/jobs/{Uri.EscapeDataString(id)}/cancel", null, ct);
        return await ReadAsync<JobStatus>(response, ct);
    }

    /// <summary>All registered workers.</summary>
    public async Task<IReadOnlyList<WorkerStatus>> ListWorkersAsync(CancellationToken ct = default)
    {
        using var response = await http.GetAsync("/api/workers", ct);
        return await ReadAsync<WorkerStatus[]>(response, ct);
    }

    /// <summary>The silo's health (and the number of active silos).</summary>
    public async Task<HealthReport> HealthAsync(CancellationToken ct = default)
    {
        using var response = await http.GetAsync("/health", ct);
        return await ReadAsync<HealthReport>(response, ct);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return await response.Content.ReadFromJsonAsync<T>(ApiJson.Options, ct)
                   ?? throw new GenClusterApiException((int)response.StatusCode, $"{response.RequestMessage?.RequestUri}: empty response", Empty);
        }

        var text = await response.Content.ReadAsStringAsync(ct);
        var message = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        var errors = new Dictionary<string, string[]>();
        try
        {
            if (JsonNode.Parse(text) is JsonObject problem)
            {
                message = problem["title"]?.GetValue<string>() ?? message;
                if (problem["detail"]?.GetValue<string>() is { } detail) message = detail;
                if (problem["errors"] is JsonObject fields)
                    foreach (var (field, list) in fields)
                        errors[field] = list?.AsArray().Select(e => e?.GetValue<string>() ?? "").ToArray() ?? [];
            }
        }
        catch (JsonException)
        {
            if (text.Length > 0) message = $"{message}: {text}";
        }
        throw new GenClusterApiException((int)response.StatusCode, message, errors);
    }

    private static readonly IReadOnlyDictionary<string, string[]> Empty = new Dictionary<string, string[]>();
}
