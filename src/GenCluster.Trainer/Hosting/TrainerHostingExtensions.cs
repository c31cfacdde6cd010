using System.Net;
using GenCluster.Contracts.Security;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Training;
using GenCluster.Trainer.Worker;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace GenCluster.Trainer.Hosting;

/// <summary>Service registrations and endpoints of a trainer process.</summary>
public static class TrainerHostingExtensions
{
    /// <summary>The meter names a trainer exports.</summary>
    public static readonly string[] Meters = [TrainerInstruments.MeterName, RingInstruments.MeterName];

    /// <summary>
    /// Reads and validates the <c>Tls</c> section and loads the trainer's certificate, key and CA now; null when TLS is
    /// off (<c>--insecure-no-tls</c>).
    /// </summary>
    /// <exception cref="OptionsValidationException">The section is not valid (a file is not named).</exception>
    /// <exception cref="ClusterTlsException">A file cannot be used, or the certificate would not pass the silo's check.</exception>
    public static ClusterTlsCredentials? ReadTls(IConfiguration configuration)
    {
        var options = configuration.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();
        var result = new ClusterTlsOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(ClusterTlsOptions.Section, typeof(ClusterTlsOptions), result.Failures);
        return options.Insecure ? null : ClusterTlsCredentials.Load(options, CertificateRole.Trainer, TimeProvider.System);
    }

    /// <summary>Options, the ring port, the HTTP/1 metrics port, Orleans client (over mutual TLS unless it is off), worker loop, metrics.</summary>
    /// <exception cref="OptionsValidationException">The <c>Tls</c> options are not valid.</exception>
    /// <exception cref="ClusterTlsException">A certificate, key or CA file cannot be used.</exception>
    public static WebApplicationBuilder AddGenClusterTrainer(this WebApplicationBuilder builder)
    {
        var tls = ReadTls(builder.Configuration);
        builder.Services.AddOptions<TrainerOptions>().Bind(builder.Configuration.GetSection(TrainerOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TrainerOptions>, TrainerOptionsValidator>();
        builder.Services.AddGenClusterTrainingEngine();
        builder.Services.AddGenClusterRing(builder.Configuration);
        var options = new TrainerOptions();
        builder.Configuration.GetSection(TrainerOptions.Section).Bind(options);

        // The ring has its own port and server (Distributed/Http2); Kestrel serves only /metrics and /health. The ring
        // listens on one address (by default the advertised one), resolved when the host starts, after validation.
        builder.Services.ListenRing(sp =>
        {
            var trainer = sp.GetRequiredService<IOptions<TrainerOptions>>().Value;
            return new IPEndPoint(trainer.RingBindAddress ?? throw new InvalidOperationException("Trainer:RingBind was not validated."), trainer.RingPort);
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Any, options.MetricsPort, listen => listen.Protocols = HttpProtocols.Http1));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(options.GraceSeconds + 5));

        builder.UseOrleansClient(client =>
        {
            if (tls is not null) client.UseClusterTls(tls);
            if (string.IsNullOrEmpty(options.Redis))
                client.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId);
            else
                client.UseRedisClustering(redis => redis.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(options.Redis))
                    .Configure<Orleans.Configuration.ClusterOptions>(cluster =>
                    {
                        cluster.ClusterId = options.ClusterId;
                        cluster.ServiceId = options.ServiceId;
                    });
        });

        builder.Services.AddSingleton<IClientConnectionRetryFilter, GatewayConnectRetryFilter>();
        builder.Services.AddSingleton(sp => WorkerIdentity.Describe(
            sp.GetRequiredService<IOptions<TrainerOptions>>().Value, sp.GetRequiredService<IOptions<TrainingEngineOptions>>().Value.Device,
            sp.GetRequiredService<IOptions<RingOptions>>().Value));
        builder.Services.AddSingleton<IControlPlane, OrleansControlPlane>();
        builder.Services.AddSingleton<DatasetCache>();
        builder.Services.AddSingleton<CoreBinding>();
        builder.Services.AddSingleton<IRoundRunner, TrainingRoundRunner>();
        builder.Services.AddSingleton<WorkerLoop>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerLoop>());
        builder.Services.AddHealthChecks();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Meters)
            .AddPrometheusExporter());
        return builder;
    }

    /// <summary>Maps <c>/metrics</c> and <c>/health</c> on the metrics port only.</summary>
    public static WebApplication MapGenClusterTrainer(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<TrainerOptions>>().Value;
        var metricsHost = $"*:{options.MetricsPort}";
        app.MapPrometheusScrapingEndpoint("/metrics").RequireHost(metricsHost);
        app.MapHealthChecks("/health").RequireHost(metricsHost);
        // Hosted services stop in reverse order, after the host's stopping signal: ask the running round to
        // checkpoint as soon as shutdown begins instead of training on until the worker loop is stopped.
        // Before the first round: its threads (libtorch's pool, the ring's) start on this trainer's cores.
        app.Services.GetRequiredService<CoreBinding>().Apply();
        var worker = app.Services.GetRequiredService<WorkerLoop>();
        app.Lifetime.ApplicationStopping.Register(worker.BeginLeaving);
        return app;
    }
}

/// <summary>How this process introduces itself to the control plane.</summary>
public static class WorkerIdentity
{
    /// <summary>
    /// Builds the registration record from the options (default id: host name and process id). The ring endpoint
    /// carries the path of the ring port's Unix socket (<see cref="RingPeerAddress"/>) unless <paramref name="ring"/>
    /// turns the same-host transport off; the path depends only on the port and this process, so it is known before the
    /// listener starts.
    /// </summary>
    public static WorkerInfo Describe(TrainerOptions options, string device, RingOptions? ring = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var host = Dns.GetHostName();
        var id = string.IsNullOrEmpty(options.WorkerId) ? $"{host}-{Environment.ProcessId}" : options.WorkerId;
        var unixSocketPath = (ring ?? new RingOptions()).PrefersUnix ? RingUnixSocket.PathFor(options.RingPort) : null;
        return new WorkerInfo(id, host, RingPeerAddress.Format($"http://{options.AdvertiseHost}:{options.RingPort}", unixSocketPath),
            $"http://{options.AdvertiseHost}:{options.MetricsPort}", device);
    }
}
