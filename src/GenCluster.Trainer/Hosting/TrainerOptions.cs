using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Hosting;

/// <summary>Settings of one trainer process (configuration section <c>Trainer</c>).</summary>
public sealed class TrainerOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Trainer";

    /// <summary>Stable id of this worker; empty = host name + process id.</summary>
    public string WorkerId { get; set; } = "";

    /// <summary>Address peers and the silo use to reach this process (host name or IP).</summary>
    public string AdvertiseHost { get; set; } = "127.0.0.1";

    /// <summary>
    /// IP address the ring port listens on; empty = <see cref="AdvertiseHost"/>, which must then be an IP address.
    /// Only ring peers need to reach it: name <c>0.0.0.0</c> or <c>::</c> (every interface) only on purpose.
    /// </summary>
    public string RingBind { get; set; } = "";

    /// <summary>The address the ring port listens on (<see cref="RingBind"/>, else <see cref="AdvertiseHost"/>); null when it is not an IP address.</summary>
    public IPAddress? RingBindAddress => ParseAddress(string.IsNullOrEmpty(RingBind) ? AdvertiseHost : RingBind);

    /// <summary>TCP port of the HTTP/2-only ring service (gradients between trainers).</summary>
    public int RingPort { get; set; } = 7201;

    /// <summary>TCP port of the HTTP/1 endpoint serving <c>/metrics</c> and <c>/health</c>.</summary>
    public int MetricsPort { get; set; } = 9201;

    /// <summary>Silo gateway port for localhost clustering (ignored when <see cref="Redis"/> is set).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Redis <c>host:port</c> for cluster mode; empty = localhost clustering.</summary>
    public string Redis { get; set; } = "";

    /// <summary>Orleans cluster id; must match the silo's.</summary>
    public string ClusterId { get; set; } = "gencluster";

    /// <summary>Orleans service id; must match the silo's.</summary>
    public string ServiceId { get; set; } = "gencluster";

    /// <summary>Seconds between heartbeats (the silo's lease must be several times longer).</summary>
    public double HeartbeatSeconds { get; set; } = 1.0;

    /// <summary>
    /// Seconds the trainer keeps trying to make its first connection to a gateway before it gives up and exits non-zero
    /// (a silo that is down, or one that refuses this trainer's certificate, look alike from here).
    /// </summary>
    public double ConnectTimeoutSeconds { get; set; } = 120;

    /// <summary>Seconds a SIGTERM'd trainer may take to finish its step, checkpoint and leave.</summary>
    public double GraceSeconds { get; set; } = 30;

    /// <summary>
    /// An IPv4 address in dotted-quad form or an IPv6 address; null otherwise, including the short forms
    /// <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> would take (<c>1</c> would be 0.0.0.1).
    /// </summary>
    internal static IPAddress? ParseAddress(string? text) =>
        IPAddress.TryParse(text, out var address)
        && (address.AddressFamily == AddressFamily.InterNetworkV6 || text!.Count(c => c == '.') == 3)
            ? address
            : null;
}

/// <summary>Rejects trainer settings that cannot work, naming the configuration key.</summary>
public sealed class TrainerOptionsValidator : IValidateOptions<TrainerOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TrainerOptions options)
    {
        var errors = new List<string>();
        static bool IsPort(int port) => port is > 0 and < 65536;
        if (!IsPort(options.RingPort)) errors.Add($"Trainer:RingPort must be 1..65535 (got {options.RingPort})");
        if (!IsPort(options.MetricsPort)) errors.Add($"Trainer:MetricsPort must be 1..65535 (got {options.MetricsPort})");
        if (options.RingPort == options.MetricsPort) errors.Add($"Trainer:RingPort and Trainer:MetricsPort must differ (both {options.RingPort})");
        if (string.IsNullOrEmpty(options.Redis) && !IsPort(options.GatewayPort))
            errors.Add($"Trainer:GatewayPort must be 1..65535 (got {options.GatewayPort})");
        if (options.HeartbeatSeconds is <= 0 or > 60) errors.Add($"Trainer:HeartbeatSeconds must be in (0, 60] (got {options.HeartbeatSeconds})");
        if (options.ConnectTimeoutSeconds <= 0) errors.Add($"Trainer:ConnectTimeoutSeconds must be > 0 (got {options.ConnectTimeoutSeconds})");
        if (options.GraceSeconds <= 0) errors.Add($"Trainer:GraceSeconds must be > 0 (got {options.GraceSeconds})");
        if (string.IsNullOrWhiteSpace(options.AdvertiseHost)) errors.Add("Trainer:AdvertiseHost must not be empty");
        else if (options.RingBindAddress is null)
            errors.Add(string.IsNullOrEmpty(options.RingBind)
                ? $"Trainer:RingBind (--ring-bind) must be set when Trainer:AdvertiseHost is not an IP address (got '{options.AdvertiseHost}'): name the IP address the ring port listens on"
                : $"Trainer:RingBind (--ring-bind) must be an IP address such as 127.0.0.1, 10.0.0.5 or :: (got '{options.RingBind}')");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
