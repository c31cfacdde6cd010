using Microsoft.Extensions.Options;

namespace GenCluster.Silo.Hosting;

/// <summary>How cluster membership and grain state are kept.</summary>
public enum ClusteringMode
{
    /// <summary>One silo: localhost clustering, grain state in files under the data directory.</summary>
    File,
    /// <summary>Orleans' Redis clustering and grain persistence: many silos form one cluster.</summary>
    Redis,
}

/// <summary>The silo process's ports, data directory and clustering (configuration section <c>Silo</c>).</summary>
public sealed class SiloHostOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Silo";

    /// <summary>Port of the HTTP API, /metrics, /health and /dashboard. Default 5080.</summary>
    public int HttpPort { get; set; } = 5080;

    /// <summary>Silo-to-silo port. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port Orleans clients (trainers) connect to. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Directory for grain state (file mode) and the default runs directory. Default <c>gencluster-data</c>.</summary>
    public string DataDirectory { get; set; } = "gencluster-data";

    /// <summary><c>File</c> (default) or <c>Redis</c>.</summary>
    public ClusteringMode Clustering { get; set; } = ClusteringMode.File;

    /// <summary>Redis <c>host:port</c> (required in Redis mode).</summary>
    public string Redis { get; set; } = "";

    /// <summary>IP address other silos and clients reach this silo at (Redis mode). Default 127.0.0.1.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Orleans cluster id; silos with the same id and Redis form one cluster.</summary>
    public string ClusterId { get; set; } = "gencluster";

    /// <summary>Orleans service id; grain state is keyed by it.</summary>
    public string ServiceId { get; set; } = "gencluster";

    /// <summary>
    /// Directory where the silo keeps Prometheus file-based service discovery current (its own /metrics and every live
    /// trainer's, see <c>deploy/prometheus/prometheus.yml</c>); empty = none.
    /// </summary>
    public string PrometheusTargets { get; set; } = "";

    /// <summary>Directory that holds file-mode grain state.</summary>
    public string StateDirectory => Path.Combine(Path.GetFullPath(DataDirectory), "state");
}

/// <summary>Validates <see cref="SiloHostOptions"/>; messages name the configuration key.</summary>
public sealed class SiloHostOptionsValidator : IValidateOptions<SiloHostOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SiloHostOptions o)
    {
        var errors = new List<string>();
        Port("HttpPort", o.HttpPort);
        Port("SiloPort", o.SiloPort);
        Port("GatewayPort", o.GatewayPort);
        if (new[] { o.HttpPort, o.SiloPort, o.GatewayPort }.Distinct().Count() != 3)
            errors.Add($"{SiloHostOptions.Section}:HttpPort, SiloPort and GatewayPort must differ, got {o.HttpPort}, {o.SiloPort}, {o.GatewayPort}");
        if (string.IsNullOrWhiteSpace(o.DataDirectory))
            errors.Add($"{SiloHostOptions.Section}:DataDirectory must not be empty");
        if (!Enum.IsDefined(o.Clustering))
            errors.Add($"{SiloHostOptions.Section}:Clustering must be File or Redis, got {o.Clustering}");
        if (o.Clustering == ClusteringMode.Redis && !IsHostPort(o.Redis))
            errors.Add($"{SiloHostOptions.Section}:Redis must be host:port in Redis mode, got '{o.Redis}'");
        if (!System.Net.IPAddress.TryParse(o.AdvertisedAddress, out _))
            errors.Add($"{SiloHostOptions.Section}:AdvertisedAddress must be an IP address, got '{o.AdvertisedAddress}'");
        if (string.IsNullOrWhiteSpace(o.ClusterId)) errors.Add($"{SiloHostOptions.Section}:ClusterId must not be empty");
        if (string.IsNullOrWhiteSpace(o.ServiceId)) errors.Add($"{SiloHostOptions.Section}:ServiceId must not be empty");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Port(string key, int value)
        {
            if (value is < 1 or > 65535) errors.Add($"{SiloHostOptions.Section}:{key} must be in 1..65535, got {value}");
        }
    }

    private static bool IsHostPort(string value)
    {
        var i = value.LastIndexOf(':');
        return i > 0 && int.TryParse(value[(i + 1)..], out var port) && port is >= 1 and <= 65535;
    }
}
