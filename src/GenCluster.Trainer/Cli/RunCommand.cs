using System.CommandLine;
using GenCluster.Trainer.Hosting;

namespace GenCluster.Trainer.Cli;

/// <summary><c>gencluster-trainer run</c>: joins the cluster and trains whatever the control plane assigns.</summary>
public static class RunCommand
{
    public static Command Build()
    {
        var defaults = new TrainerOptions();
        var command = new Command("run", "Register with the silo and train assigned rounds until stopped (SIGTERM checkpoints and leaves).");
        var bindings = new List<(Option Option, string Key)>();

        Option<T> Add<T>(string name, string key, T defaultValue, string description)
        {
            var option = new Option<T>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
            command.Options.Add(option);
            bindings.Add((option, key));
            return option;
        }

        Add("--worker-id", nameof(TrainerOptions.WorkerId), defaults.WorkerId, "Stable worker id (default: host-pid).");
        Add("--advertise-host", nameof(TrainerOptions.AdvertiseHost), defaults.AdvertiseHost, "Address peers use to reach this trainer.");
        Add("--ring-port", nameof(TrainerOptions.RingPort), defaults.RingPort, "HTTP/2 port of the ring service.");
        Add("--metrics-port", nameof(TrainerOptions.MetricsPort), defaults.MetricsPort, "HTTP/1 port for /metrics and /health.");
        Add("--gateway-port", nameof(TrainerOptions.GatewayPort), defaults.GatewayPort, "Silo gateway port (localhost clustering).");
        Add("--redis", nameof(TrainerOptions.Redis), defaults.Redis, "Redis host:port for cluster mode (instead of --gateway-port).");
        Add("--cluster-id", nameof(TrainerOptions.ClusterId), defaults.ClusterId, "Orleans cluster id (must match the silo).");
        Add("--service-id", nameof(TrainerOptions.ServiceId), defaults.ServiceId, "Orleans service id (must match the silo).");
        Add("--threads", nameof(TrainerOptions.Threads), defaults.Threads, "TorchSharp threads (0 = share this host's cores).");
        Add("--device", nameof(TrainerOptions.Device), defaults.Device, "cpu or cuda:N.");
        Add("--data-dir", nameof(TrainerOptions.DataDirectory), defaults.DataDirectory, "Directory with (or receiving) data sets.");
        Add("--heartbeat-seconds", nameof(TrainerOptions.HeartbeatSeconds), defaults.HeartbeatSeconds, "Seconds between heartbeats.");
        Add("--grace-seconds", nameof(TrainerOptions.GraceSeconds), defaults.GraceSeconds, "Seconds allowed to checkpoint and leave on SIGTERM.");
        Add("--collective-timeout-seconds", nameof(TrainerOptions.CollectiveTimeoutSeconds), defaults.CollectiveTimeoutSeconds, "Deadline of one collective.");

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = bindings.ToDictionary(
                b => $"{TrainerOptions.Section}:{b.Key}",
                b => Convert.ToString(parse.GetResult(b.Option)?.GetValueOrDefault<object>(), System.Globalization.CultureInfo.InvariantCulture));
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.AddGenClusterTrainer();
            await using var app = builder.Build();
            app.MapGenClusterTrainer();
            await app.RunAsync();
            return 0;
        });
        return command;
    }
}
