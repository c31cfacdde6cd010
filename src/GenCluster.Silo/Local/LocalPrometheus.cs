using GenCluster.Contracts.Security;

namespace GenCluster.Silo.Local;

/// <summary>
/// What a local run needs to be watched by a real Prometheus: the shipped scrape config and alert rules
/// (<c>deploy/prometheus/</c>, embedded in this assembly) written beside the <c>targets/</c> directory the silo keeps
/// current and the read token the config sends to the silo (<see cref="TokenFileName"/>), so
/// <c>prometheus --config.file=&lt;dir&gt;/prometheus.yml</c> scrapes the silo and every trainer.
/// </summary>
public static class LocalPrometheus
{
    /// <summary>The shipped files, by resource name and file name.</summary>
    public static readonly IReadOnlyList<string> Files = ["prometheus.yml", "alerts.yml"];

    /// <summary>The file beside the config holding the token sent to the silo's /metrics (its <c>credentials_file</c>).</summary>
    public const string TokenFileName = "silo.token";

    /// <summary>The directory's service-discovery folder (the silo's <c>--prometheus-targets</c>).</summary>
    public static string TargetsDirectory(string directory) => Path.Combine(directory, "targets");

    /// <summary>Writes the config, the rules and <paramref name="siloToken"/> (a read token) into <paramref name="directory"/>; returns the config's path.</summary>
    public static string Write(string directory, string siloToken)
    {
        Directory.CreateDirectory(TargetsDirectory(directory));
        var assembly = typeof(LocalPrometheus).Assembly;
        foreach (var file in Files)
        {
            using var resource = assembly.GetManifestResourceStream($"deploy.prometheus.{file}")
                ?? throw new InvalidOperationException($"deploy/prometheus/{file} is not embedded in {assembly.GetName().Name}");
            using var target = File.Create(Path.Combine(directory, file));
            resource.CopyTo(target);
        }
        PrivateFile.Write(Path.Combine(directory, TokenFileName), siloToken);
        return Path.Combine(directory, Files[0]);
    }
}
