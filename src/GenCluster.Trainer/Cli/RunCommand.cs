using System.CommandLine;
using System.Globalization;
using GenCluster.Contracts.Security;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Hosting;
using GenCluster.Trainer.Training;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Cli;

/// <summary><c>gencluster-trainer run</c>: joins the cluster and trains whatever the control plane assigns.</summary>
public static class RunCommand
{
    public static Command Build()
    {
        var trainer = new TrainerOptions();
        var engine = new TrainingEngineOptions();
        var command = new Command("run", "Register with the silo and train assigned rounds until stopped (SIGTERM checkpoints and leaves).");
        var bindings = new List<(Option Option, string Key, Func<object?, string?> Format)>();

        void Add<T>(string name, string key, T defaultValue, string description, Func<T, string>? format = null)
        {
            var option = new Option<T>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
            command.Options.Add(option);
            bindings.Add((option, key, value => value is T typed && format is not null
                ? format(typed)
                : Convert.ToString(value, CultureInfo.InvariantCulture)));
        }

        const string S = TrainerOptions.Section;
        Add("--worker-id", $"{S}:{nameof(TrainerOptions.WorkerId)}", trainer.WorkerId, "Stable worker id (default: host-pid).");
        Add("--advertise-host", $"{S}:{nameof(TrainerOptions.AdvertiseHost)}", trainer.AdvertiseHost, "Address peers use to reach this trainer.");
        Add("--ring-bind", $"{S}:{nameof(TrainerOptions.RingBind)}", trainer.RingBind,
            "IP address the ring port listens on (default: --advertise-host, which must then be an IP address; 0.0.0.0 = every interface).");
        Add("--ring-port", $"{S}:{nameof(TrainerOptions.RingPort)}", trainer.RingPort, "HTTP/2 port of the ring service.");
        Add("--metrics-port", $"{S}:{nameof(TrainerOptions.MetricsPort)}", trainer.MetricsPort, "HTTP/1 port for /metrics and /health.");
        Add("--gateway-port", $"{S}:{nameof(TrainerOptions.GatewayPort)}", trainer.GatewayPort, "Silo gateway port (localhost clustering).");
        Add("--redis", $"{S}:{nameof(TrainerOptions.Redis)}", trainer.Redis, "Redis host:port for cluster mode (instead of --gateway-port).");
        Add("--cluster-id", $"{S}:{nameof(TrainerOptions.ClusterId)}", trainer.ClusterId, "Orleans cluster id (must match the silo).");
        Add("--service-id", $"{S}:{nameof(TrainerOptions.ServiceId)}", trainer.ServiceId, "Orleans service id (must match the silo).");
        const string T = ClusterTlsOptions.Section;
        Add(ClusterTlsOptions.CertificateFlag, $"{T}:{nameof(ClusterTlsOptions.CertificateFile)}", "", "This trainer's certificate, PEM (trainer.crt of `gencluster certs`).");
        Add(ClusterTlsOptions.KeyFlag, $"{T}:{nameof(ClusterTlsOptions.KeyFile)}", "", "Its private key, PEM (trainer.key).");
        Add(ClusterTlsOptions.CaFlag, $"{T}:{nameof(ClusterTlsOptions.CaFile)}", "", "The cluster's CA certificate, PEM (ca.crt): the gateway must hold a silo certificate it signed.");
        Add(ClusterTlsOptions.InsecureFlag, $"{T}:{nameof(ClusterTlsOptions.Insecure)}", false,
            "Connect to the gateway in plain TCP without certificates (refused by a silo that uses TLS).");
        Add("--heartbeat-seconds", $"{S}:{nameof(TrainerOptions.HeartbeatSeconds)}", trainer.HeartbeatSeconds, "Seconds between heartbeats.");
        Add("--connect-timeout-seconds", $"{S}:{nameof(TrainerOptions.ConnectTimeoutSeconds)}", trainer.ConnectTimeoutSeconds,
            "Seconds to keep trying the first connection to a gateway before exiting with an error.");
        Add("--grace-seconds", $"{S}:{nameof(TrainerOptions.GraceSeconds)}", trainer.GraceSeconds, "Seconds allowed to checkpoint and leave on SIGTERM.");
        Add("--threads", $"{TrainingEngineOptions.Section}:{nameof(TrainingEngineOptions.Threads)}", engine.Threads, "TorchSharp threads (0 = libtorch default).");
        Add("--device", $"{TrainingEngineOptions.Section}:{nameof(TrainingEngineOptions.Device)}", engine.Device, "cpu or cuda:N.");
        Add("--cpu-slot", $"{TrainingEngineOptions.Section}:{nameof(TrainingEngineOptions.CpuSlot)}", "",
            "i/n: this is trainer i of n sharing the host; its threads are bound to the i-th block of the cores (empty = unbound).");
        Add("--overlap", $"{TrainingEngineOptions.Section}:{nameof(TrainingEngineOptions.OverlapBackward)}", engine.OverlapBackward,
            "All-reduce gradients during backward: auto (where every trainer on the host has a spare core), on or off.");
        Add("--data-dir", $"{TrainingEngineOptions.Section}:{nameof(TrainingEngineOptions.DataDirectory)}", engine.DataDirectory, "Directory with (or receiving) data sets.");
        Add("--collective-timeout-seconds", $"{RingOptions.Section}:{nameof(RingOptions.CollectiveTimeout)}", new RingOptions().CollectiveTimeout.TotalSeconds,
            "Deadline of one collective; a missing peer is named when it passes.",
            seconds => TimeSpan.FromSeconds(seconds).ToString("c", CultureInfo.InvariantCulture));
        Add("--join-timeout-seconds", $"{RingOptions.Section}:{nameof(RingOptions.JoinTimeout)}", 60.0,
            "Deadline of a round's first collective (members join at different speeds: process start, data set load).",
            seconds => TimeSpan.FromSeconds(seconds).ToString("c", CultureInfo.InvariantCulture));

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = bindings.ToDictionary(b => b.Key, b => b.Format(parse.GetResult(b.Option)?.GetValueOrDefault<object>()));
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.AddInMemoryCollection(settings);
            try
            {
                builder.AddGenClusterTrainer();
            }
            catch (Exception e) when (e is OptionsValidationException or ClusterTlsException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"gencluster-trainer run: {e.Message}");
                return 2;
            }
            await using var app = builder.Build();
            app.MapGenClusterTrainer();
            try
            {
                await app.RunAsync();
            }
            catch (GatewayUnreachableException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"gencluster-trainer run: {e.Message}");
                return 1;
            }
            return 0;
        });
        return command;
    }
}
