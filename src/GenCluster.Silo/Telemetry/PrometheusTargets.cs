using System.Text.Json;
using GenCluster.Contracts.Workers;

namespace GenCluster.Silo.Telemetry;

/// <summary>
/// Prometheus file-based service discovery (<c>file_sd_configs</c>): the JSON that lists the silo's /metrics and every
/// live trainer's, each target labelled with its <c>host</c> (and trainers with their <c>worker_id</c>). The shipped
/// scrape config (<c>deploy/prometheus/prometheus.yml</c>) reads <c>targets/silo*.json</c> and <c>targets/trainers*.json</c>.
/// </summary>
public static class PrometheusTargets
{
    /// <summary>File name of this silo's target (one per silo, so several silos can share the directory).</summary>
    public static string SiloFileName(int httpPort) => $"silo-{httpPort}.json";

    /// <summary>File name of the trainers' targets.</summary>
    public const string TrainersFileName = "trainers.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The silo's target group.</summary>
    public static string Silo(string address, int httpPort, string host) =>
        Serialize([new TargetGroup([$"{address}:{httpPort}"], new SortedDictionary<string, string> { ["host"] = host })]);

    /// <summary>One target group per live worker with a metrics endpoint, in worker-id order.</summary>
    /// <exception cref="ArgumentException">A worker's metrics endpoint is not an absolute http(s) URL; the message names the worker.</exception>
    public static string Trainers(IEnumerable<WorkerStatus> workers) =>
        Serialize([.. workers
            .Where(w => w.Alive && !string.IsNullOrEmpty(w.Info.MetricsEndpoint))
            .OrderBy(w => w.Info.WorkerId, StringComparer.Ordinal)
            .Select(w => new TargetGroup([Authority(w.Info)],
                new SortedDictionary<string, string> { ["host"] = w.Info.Host, ["worker_id"] = w.Info.WorkerId }))]);

    private static string Authority(WorkerInfo worker) =>
        Uri.TryCreate(worker.MetricsEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri.Authority
            : throw new ArgumentException($"worker '{worker.WorkerId}': metrics endpoint '{worker.MetricsEndpoint}' is not an http(s) URL");

    private static string Serialize(IReadOnlyList<TargetGroup> groups) =>
        JsonSerializer.Serialize(groups.Select(g => new Dictionary<string, object> { ["targets"] = g.Targets, ["labels"] = g.Labels }), Json);

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> by rename (a scraper never reads half a file) unless it is already there.</summary>
    public static bool WriteIfChanged(string path, string text)
    {
        if (File.Exists(path) && File.ReadAllText(path) == text) return false;
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
        return true;
    }

    private sealed record TargetGroup(IReadOnlyList<string> Targets, SortedDictionary<string, string> Labels);
}
