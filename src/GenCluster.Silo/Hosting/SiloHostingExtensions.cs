using System.Net;
using GenCluster.Contracts.Security;
using GenCluster.Contracts.Workers;
using GenCluster.Grains;
using GenCluster.Grains.Scheduling;
using GenCluster.Grains.Telemetry;
using GenCluster.Grains.Workers;
using GenCluster.Silo.Api;
using GenCluster.Silo.Auth;
using GenCluster.Silo.Storage;
using GenCluster.Silo.Telemetry;
using GenCluster.Silo.Ui;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime.Hosting;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using StackExchange.Redis;

namespace GenCluster.Silo.Hosting;

/// <summary>Registrations of the silo process: Orleans, storage, metrics, dashboard, the API.</summary>
public static class SiloHostingExtensions
{
    /// <summary>Reads and validates the <c>Silo</c> section now (clustering must be known before the host is built).</summary>
    public static SiloHostOptions ReadSiloOptions(IConfiguration configuration) =>
        ReadValidated(configuration, SiloHostOptions.Section, new SiloHostOptionsValidator());

    /// <summary>
    /// Reads and validates the <c>Tls</c> section and loads the silo's certificate, key and CA now; null when TLS is off
    /// (<c>--insecure-no-tls</c>).
    /// </summary>
    /// <exception cref="OptionsValidationException">The section is not valid (a file is not named).</exception>
    /// <exception cref="ClusterTlsException">A file cannot be used, or the silo's certificate would not pass its peers' check.</exception>
    public static ClusterTlsCredentials? ReadTls(IConfiguration configuration)
    {
        var options = ReadValidated(configuration, ClusterTlsOptions.Section, new ClusterTlsOptionsValidator());
        return options.Insecure ? null : ClusterTlsCredentials.Load(options, CertificateRole.Silo, TimeProvider.System);
    }

    /// <summary>Binds <paramref name="section"/> and validates it now, before the host is built.</summary>
    /// <exception cref="OptionsValidationException">The section is not valid; the message joins the validator's messages.</exception>
    public static T ReadValidated<T>(IConfiguration configuration, string section, IValidateOptions<T> validator) where T : class, new()
    {
        var options = configuration.GetSection(section).Get<T>() ?? new T();
        var result = validator.Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(section, typeof(T), result.Failures);
        return options;
    }

    /// <summary>
    /// Adds the Orleans silo with GenCluster's grains, durable state, metrics and dashboard, Kestrel on the HTTP port,
    /// the API's token authentication and mutual TLS on the Orleans ports (the credentials are then a service).
    /// </summary>
    /// <exception cref="OptionsValidationException">The <c>Silo</c>, <c>Auth</c> or <c>Tls</c> options are not valid.</exception>
    /// <exception cref="ApiTokenFileException">The token file cannot be used.</exception>
    /// <exception cref="ClusterTlsException">A certificate, key or CA file cannot be used.</exception>
    public static WebApplicationBuilder AddGenClusterSilo(this WebApplicationBuilder builder)
    {
        var silo = ReadSiloOptions(builder.Configuration);
        builder.AddGenClusterApiAuth();
        var tls = ReadTls(builder.Configuration);
        var services = builder.Services;
        if (tls is not null) services.AddSingleton(tls);

        services.AddOptions<SiloHostOptions>().Bind(builder.Configuration.GetSection(SiloHostOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SiloHostOptions>, SiloHostOptionsValidator>();
        services.AddGenClusterControlPlane()
            .Configure(o => o.RunsDirectory = Path.Combine(Path.GetFullPath(silo.DataDirectory), "runs"))
            .Bind(builder.Configuration.GetSection(ControlPlaneOptions.Section));
        services.ConfigureHttpJsonOptions(o => ApiJson.Configure(o.SerializerOptions));

        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(silo.HttpPort));

        builder.UseOrleans(orleans =>
        {
            orleans.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = silo.ClusterId;
                o.ServiceId = silo.ServiceId;
            });
            // Grain state goes through Orleans' own version-tolerant serializer ([GenerateSerializer] types).
            orleans.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
            if (silo.Clustering == ClusteringMode.File)
            {
                orleans.UseLocalhostClustering(silo.SiloPort, silo.GatewayPort, serviceId: silo.ServiceId, clusterId: silo.ClusterId);
                orleans.Services.AddGrainStorage(ControlPlaneOptions.StorageName, (sp, _) => new FileGrainStorage(
                    silo.StateDirectory, sp.GetRequiredService<IGrainStorageSerializer>(), sp.GetRequiredService<IActivatorProvider>()));
            }
            else
            {
                orleans.UseRedisClustering(silo.Redis);
                orleans.ConfigureEndpoints(IPAddress.Parse(silo.AdvertisedAddress), silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: true);
                orleans.AddRedisGrainStorage(ControlPlaneOptions.StorageName,
                    o => o.ConfigurationOptions = ConfigurationOptions.Parse(silo.Redis));
            }
            if (tls is not null) orleans.UseClusterTls(tls);
            orleans.AddDashboard();
            // Activate the registry at start-up so leases of trainers that died while the silo was down still expire.
            orleans.AddStartupTask(async (sp, _) =>
            {
                var grains = sp.GetRequiredService<IGrainFactory>();
                await grains.GetGrain<IWorkerDirectoryGrain>(IWorkerRegistryGrain.Key).GetWorkers();
            });
        });

        // After UseOrleans, so the silo is started before the first refresh.
        services.AddHostedService<ClusterSummaryService>();
        services.AddHostedService<PrometheusTargetsService>();
        services.AddSingleton<OrleansMetricsBridge>();
        services.AddHostedService(sp => sp.GetRequiredService<OrleansMetricsBridge>());
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(SiloInstruments.MeterName, OrleansMetricsBridge.OrleansMeterName, OrleansMetricsBridge.MeterName)
            .AddView(OrleansMetricsBridge.View)
            .AddPrometheusExporter());
        return builder;
    }

    /// <summary>
    /// Maps the HTTP API, <c>/metrics</c>, <c>/health</c>, the job pages under <c>/ui</c> and the dashboard under <c>/dashboard</c>, behind the token
    /// check: the API by scope (see <see cref="JobsEndpoints"/>), <c>/metrics</c> and <c>/health</c> need a read token
    /// unless opened by <c>--open-metrics</c> / <c>--open-health</c>, the dashboard (which shows grain state) admin.
    /// Endpoints mapped after this call need a token by the fallback policy (<see cref="ApiPolicies"/>).
    /// </summary>
    public static WebApplication MapGenClusterApi(this WebApplication app)
    {
        var auth = app.Services.GetRequiredService<IOptions<ApiAuthOptions>>().Value;
        app.UseClusterUnavailableAs503();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapPrometheusScrapingEndpoint("/metrics").RequireReadUnlessOpen(auth.OpenMetrics);
        app.MapHealth().RequireReadUnlessOpen(auth.OpenHealth);
        app.MapOrleansDashboard("/dashboard").RequireScope(ApiScope.Admin);
        app.MapGenClusterEndpoints();
        app.MapGenClusterRunEndpoints();
        app.MapGenClusterUi();
        return app;
    }
}
