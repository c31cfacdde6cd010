using System.Diagnostics;
using System.Text.Json;

namespace GenCluster.IntegrationTests.Telemetry;

/// <summary>A real <c>prometheus</c> server (Debian package) on a free loopback port, queried over its HTTP API; killed on dispose.</summary>
public sealed class PrometheusServer : IDisposable
{
    private readonly Process _process;
    private readonly string _storage = Directory.CreateTempSubdirectory("gencluster-prometheus-").FullName;
    private readonly HttpClient _http;
    private readonly List<string> _log = [];

    /// <summary>Starts <c>prometheus --config.file=<paramref name="config"/></c>; fails loudly when the binary is missing.</summary>
    public PrometheusServer(string config)
    {
        var port = GenCluster.Silo.Local.FreePorts.Take(1)[0];
        Address = new Uri($"http://127.0.0.1:{port}");
        _http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
        var psi = new ProcessStartInfo("prometheus")
        {
            ArgumentList =
            {
                $"--config.file={config}", $"--storage.tsdb.path={_storage}", $"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            _process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("prometheus is not installed (Debian package 'prometheus'; scripts/prereqs.sh installs it): " + e.Message, e);
        }
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.Add(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.Add(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    /// <summary>The server's base address.</summary>
    public Uri Address { get; }

    /// <summary>Its log so far.</summary>
    public string Log
    {
        get
        {
            lock (_log) return string.Join(Environment.NewLine, _log);
        }
    }

    /// <summary>Runs an instant query; returns the result vector's series (labels and value), empty when none.</summary>
    /// <exception cref="InvalidOperationException">Prometheus answered with an error (a bad query names it).</exception>
    /// <exception cref="HttpRequestException">Prometheus could not be reached or is not ready yet (it answered without JSON).</exception>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        using var response = await _http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(promql));
        var body = await response.Content.ReadAsStringAsync();
        // Until its storage is open Prometheus answers 503 with a plain-text "Service Unavailable": not ready yet, not a
        // bad query (those come back as JSON errors), so it is reported as a transient failure the caller may retry.
        if (response.Content.Headers.ContentType?.MediaType != "application/json")
            throw new HttpRequestException($"prometheus answered {(int)response.StatusCode} ({response.Content.Headers.ContentType?.MediaType ?? "no content type"}): {body.Trim()}",
                null, response.StatusCode);
        using var json = JsonDocument.Parse(body);
        if (json.RootElement.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException($"query '{promql}' failed: {body}");
        var data = json.RootElement.GetProperty("data");
        var type = data.GetProperty("resultType").GetString();
        if (type == "scalar")
            return [(new Dictionary<string, string>(), ParseValue(data.GetProperty("result")[1]))];
        return [.. data.GetProperty("result").EnumerateArray().Select(r => (
            (IReadOnlyDictionary<string, string>)r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            ParseValue(r.GetProperty("value")[1])))];
    }

    /// <summary>Polls <paramref name="promql"/> until <paramref name="accept"/> holds; the timeout message names the query and its last result.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> WaitForAsync(
        string promql, Func<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>, bool> accept, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> last = [];
        Exception? error = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await QueryAsync(promql);
                error = null;
                if (accept(last)) return last;
            }
            catch (HttpRequestException e)
            {
                error = e;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"prometheus: '{promql}' not as expected within {timeout.TotalSeconds:F0} s; last result: " +
                                   string.Join("; ", last.Select(s => $"{{{string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}"))}}} {s.Value}")) +
                                   (error is null ? "" : $"; last error: {error.Message}") + $"\nprometheus log:\n{Log}");
    }

    private static double ParseValue(JsonElement value) =>
        double.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        _http.Dispose();
        Directory.Delete(_storage, recursive: true);
    }
}
