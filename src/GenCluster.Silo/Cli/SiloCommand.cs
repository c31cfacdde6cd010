using System.CommandLine;
using GenCluster.Contracts.Security;
using GenCluster.Grains;
using GenCluster.Silo.Auth;
using GenCluster.Silo.Hosting;
using Microsoft.Extensions.Options;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster silo</c>: the Orleans silo with the HTTP API, /metrics, /health and /dashboard in one process.</summary>
public static class SiloCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var httpPort = new Option<int>("--http-port") { Description = "Port of the HTTP API, the job pages (/ui), /metrics, /health and /dashboard", DefaultValueFactory = _ => 5080 };
        var siloPort = new Option<int>("--silo-port") { Description = "Silo-to-silo port", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Port trainers (Orleans clients) connect to", DefaultValueFactory = _ => 30000 };
        var dataDir = new Option<string>("--data-dir") { Description = "Directory for grain state (file mode) and runs", DefaultValueFactory = _ => "gencluster-data" };
        var clustering = new Option<ClusteringMode>("--clustering") { Description = "file (one silo, state in files) or redis (cluster)", DefaultValueFactory = _ => ClusteringMode.File };
        var redis = new Option<string>("--redis") { Description = "Redis host:port (redis mode)", DefaultValueFactory = _ => "" };
        var advertise = new Option<string>("--advertise") { Description = "IP address other silos reach this one at (redis mode)", DefaultValueFactory = _ => "127.0.0.1" };
        var lease = new Option<double>("--lease-seconds") { Description = "Worker lease; a trainer missing heartbeats this long is lost", DefaultValueFactory = _ => 10 };
        var drain = new Option<double>("--preemption-drain-seconds") { Description = "Time a job preempted by the scheduler gets to checkpoint (0 = none)", DefaultValueFactory = _ => 30 };
        var runsDir = new Option<string>("--runs-dir") { Description = "Default directory for job runs (default <data-dir>/runs)" };
        var prometheusTargets = new Option<string>("--prometheus-targets")
            { Description = "Directory to keep Prometheus file-based service discovery in (this silo and the live trainers; see deploy/prometheus)", DefaultValueFactory = _ => "" };
        var tokenFile = new Option<string>("--token-file")
        {
            Description = $"API tokens, one per line: 'token scope [name]', scope read or admin, '#' comments (also: an admin token in ${ApiAuthOptions.AdminTokenVariable})",
            DefaultValueFactory = _ => "",
        };
        var noAuth = new Option<bool>("--no-auth") { Description = "Serve the HTTP API without tokens: whoever reaches the port is admin (the silo refuses to start with neither tokens nor this)" };
        var openMetrics = new Option<bool>("--open-metrics") { Description = "Serve /metrics without a token (default: a read token)" };
        var openHealth = new Option<bool>("--open-health") { Description = "Serve /health without a token, e.g. for probes (default: a read token)" };
        var tlsCert = new Option<string>(ClusterTlsOptions.CertificateFlag) { Description = "This silo's certificate, PEM (silo.crt of `gencluster certs`)", DefaultValueFactory = _ => "" };
        var tlsKey = new Option<string>(ClusterTlsOptions.KeyFlag) { Description = "Its private key, PEM (silo.key)", DefaultValueFactory = _ => "" };
        var tlsCa = new Option<string>(ClusterTlsOptions.CaFlag) { Description = "The cluster's CA certificate, PEM (ca.crt): silos and trainers must hold a certificate it signed", DefaultValueFactory = _ => "" };
        var insecure = new Option<bool>(ClusterTlsOptions.InsecureFlag) { Description = "Silo and gateway ports in plain TCP without certificates: whoever reaches them may join (the silo refuses to start with neither certificates nor this)" };

        var command = new Command("silo", "Run the control plane: Orleans silo, HTTP API, /metrics, /health and /dashboard.")
        {
            httpPort, siloPort, gatewayPort, dataDir, clustering, redis, advertise, lease, drain, runsDir, prometheusTargets,
            tokenFile, noAuth, openMetrics, openHealth, tlsCert, tlsKey, tlsCa, insecure,
        };
        command.SetAction(async (result, ct) =>
        {
            var settings = new Dictionary<string, string?>
            {
                [$"{SiloHostOptions.Section}:{nameof(SiloHostOptions.HttpPort)}"] = result.GetValue(httpPort).ToString(),
                [$"{SiloHostOptions.Section}:{nameof(SiloHostOptions.SiloPort)}"] = result.GetValue(siloPort).ToString(),
                [$"{SiloHostOptions.Section}:{nameof(SiloHostOptions.GatewayPort)}"] = result.GetValue(gatewayPort).ToString(),
                [$"{SiloHostOptions.Section}:{nameof(SiloHostOptions.DataDirectory)}"] = result.GetValue(dataDir),
                [$"{SiloHostOptions.Section}:{nameof(SiloHostOptions.Clustering)}"] = result.GetValue(clustering).ToString(),
                [$"{SiloHostOptions.Section}:{nameof(SiloHostOptions.Redis)}"] = result.GetValue(redis),
                [$"{SiloHostOptions.Section}:{nameof(SiloHostOptions.AdvertisedAddress)}"] = result.GetValue(advertise),
                [$"{SiloHostOptions.Section}:{nameof(SiloHostOptions.PrometheusTargets)}"] = result.GetValue(prometheusTargets),
                [$"{ControlPlaneOptions.Section}:{nameof(ControlPlaneOptions.LeaseSeconds)}"] =
                    result.GetValue(lease).ToString(System.Globalization.CultureInfo.InvariantCulture),
                [$"{ControlPlaneOptions.Section}:{nameof(ControlPlaneOptions.PreemptionDrainSeconds)}"] =
                    result.GetValue(drain).ToString(System.Globalization.CultureInfo.InvariantCulture),
                [$"{ApiAuthOptions.Section}:{nameof(ApiAuthOptions.TokenFile)}"] = result.GetValue(tokenFile),
                [$"{ApiAuthOptions.Section}:{nameof(ApiAuthOptions.NoAuth)}"] = result.GetValue(noAuth).ToString(),
                [$"{ApiAuthOptions.Section}:{nameof(ApiAuthOptions.OpenMetrics)}"] = result.GetValue(openMetrics).ToString(),
                [$"{ApiAuthOptions.Section}:{nameof(ApiAuthOptions.OpenHealth)}"] = result.GetValue(openHealth).ToString(),
                [$"{ClusterTlsOptions.Section}:{nameof(ClusterTlsOptions.CertificateFile)}"] = result.GetValue(tlsCert),
                [$"{ClusterTlsOptions.Section}:{nameof(ClusterTlsOptions.KeyFile)}"] = result.GetValue(tlsKey),
                [$"{ClusterTlsOptions.Section}:{nameof(ClusterTlsOptions.CaFile)}"] = result.GetValue(tlsCa),
                [$"{ClusterTlsOptions.Section}:{nameof(ClusterTlsOptions.Insecure)}"] = result.GetValue(insecure).ToString(),
            };
            if (result.GetValue(runsDir) is { Length: > 0 } runs)
                settings[$"{ControlPlaneOptions.Section}:{nameof(ControlPlaneOptions.RunsDirectory)}"] = Path.GetFullPath(runs);
            if (Environment.GetEnvironmentVariable(ApiAuthOptions.AdminTokenVariable) is { Length: > 0 } adminToken)
                settings[$"{ApiAuthOptions.Section}:{nameof(ApiAuthOptions.AdminToken)}"] = adminToken;

            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
            builder.Configuration.AddInMemoryCollection(settings);
            try
            {
                builder.AddGenClusterSilo();
            }
            catch (Exception e) when (e is OptionsValidationException or ApiTokenFileException or ClusterTlsException)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync($"gencluster silo: {e.Message}");
                return 2;
            }
            await using var app = builder.Build();
            app.MapGenClusterApi();

            var silo = SiloHostingExtensions.ReadSiloOptions(builder.Configuration);
            var auth = app.Services.GetRequiredService<IOptions<ApiAuthOptions>>().Value;
            var authLine = ApiAuthHostingExtensions.Describe(auth, app.Services.GetRequiredService<ApiTokenSet>());
            var tlsLine = app.Services.GetService<ClusterTlsCredentials>()?.Describe()
                          ?? $"OFF ({ClusterTlsOptions.InsecureFlag}): whoever reaches the silo and gateway ports may join the cluster, in plain text";
            var output = result.InvocationConfiguration.Output;
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var http = $"http://127.0.0.1:{silo.HttpPort}";
                output.WriteLine($"gencluster silo: clustering {silo.Clustering.ToString().ToLowerInvariant()}, data {Path.GetFullPath(silo.DataDirectory)}");
                output.WriteLine($"  auth       {authLine}");
                output.WriteLine($"  orleans    {tlsLine}");
                output.WriteLine($"  api        {http}/api/jobs");
                output.WriteLine($"  metrics    {http}/metrics");
                output.WriteLine($"  health     {http}/health");
                output.WriteLine($"  jobs page  {http}/ui");
                output.WriteLine($"  dashboard  {http}/dashboard");
                output.WriteLine($"  silo port  {silo.SiloPort}, gateway port {silo.GatewayPort}");
                output.Flush();
            });
            await app.RunAsync(ct);
            return 0;
        });
        return command;
    }
}
