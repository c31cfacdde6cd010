using GenCluster.Contracts.Security;
using GenCluster.Silo.Api;
using GenCluster.Silo.Local;
using GenCluster.Silo.Security;
using GenCluster.Trainer.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GenCluster.IntegrationTests;

/// <summary>
/// The real <c>gencluster silo</c> process (the built gencluster.dll in this test's output directory), with its own
/// API tokens and cluster certificates (<see cref="Credentials"/>, in the data directory); <see cref="Http"/> and
/// <see cref="Api"/> send the admin token.
/// </summary>
public sealed class SiloProcess : IDisposable
{
    private ChildProcess? _process;
    private readonly string[] _extraArgs;
    private readonly MultiHost.NetHost? _host;

    public SiloProcess(string dataDirectory, params string[] extraArgs) : this(null, dataDirectory, null, extraArgs)
    {
    }

    /// <param name="tls">The cluster's certificates, when this silo joins others (null: a new CA of its own).</param>
    public SiloProcess(string dataDirectory, DevCertificateSet? tls, params string[] extraArgs) : this(null, dataDirectory, tls, extraArgs)
    {
    }

    /// <summary>A silo on a host of a network test bed (null: this machine): run in its namespace, reached at its address.</summary>
    /// <param name="tls">The cluster's certificates, when this silo joins others (null: a new CA of its own).</param>
    public SiloProcess(MultiHost.NetHost? host, string dataDirectory, DevCertificateSet? tls, params string[] extraArgs)
    {
        _host = host;
        DataDirectory = dataDirectory;
        Credentials = LocalCredentials.Create(dataDirectory, tls);
        _extraArgs = ["--token-file", Credentials.TokenFile, .. Credentials.Tls.Arguments(CertificateRole.Silo), .. extraArgs];
        Http = GenClusterApiClient.CreateHttp(new Uri(Address), Credentials.AdminToken);
        Api = new GenClusterApiClient(Http);
    }

    public string DataDirectory { get; }

    /// <summary>The tokens the silo accepts (an admin one and a read one, for Prometheus) and the cluster's certificates.</summary>
    public LocalCredentials Credentials { get; }
    // Taken together so the three are distinct: ports picked one at a time can repeat.
    private readonly int[] _ports = GenCluster.Silo.Local.FreePorts.Take(3);
    public int HttpPort => _ports[0];
    public int SiloPort => _ports[1];
    public int GatewayPort => _ports[2];
    public string Address => $"http://{_host?.Address ?? "127.0.0.1"}:{HttpPort}";
    public HttpClient Http { get; }
    public GenClusterApiClient Api { get; }
    public string Output => _process?.Output ?? "";

    /// <summary>Starts the process (again, after a kill) and waits until /health reports <paramref name="silos"/> active silos.</summary>
    public async Task StartAsync(int silos = 1)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "gencluster.dll");
        _process?.Dispose();
        string[] command =
        [
            "dotnet", dll, "silo", "--http-port", HttpPort.ToString(), "--silo-port", SiloPort.ToString(),
            "--gateway-port", GatewayPort.ToString(), "--data-dir", DataDirectory, .. _extraArgs,
        ];
        _process = _host is null ? new ChildProcess(command[0], command[1..]) : new ChildProcess(MultiHost.NetBed.Script, MultiHost.NetBed.On(_host, command[0], command[1..]));
        await WaitHealthyAsync(silos);
    }

    public async Task WaitHealthyAsync(int silos)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited) throw new InvalidOperationException($"gencluster silo exited early:\n{Output}");
            try
            {
                var health = await Api.HealthAsync();
                if (health.Silos >= silos) return;
                last = $"{health.Silos} silos";
            }
            catch (Exception e) when (e is HttpRequestException or GenClusterApiException or TaskCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"gencluster silo on {Address} not healthy with {silos} silos within 90 s ({last}):\n{Output}");
    }

    /// <summary>SIGKILL: no shutdown hooks run.</summary>
    public void Kill() => _process?.Kill();

    /// <summary>An Orleans client on this silo's gateway, as a trainer would connect (over TLS with the trainer certificate).</summary>
    public async Task<IHost> ConnectClientAsync()
    {
        var tls = ClusterTlsCredentials.Load(Credentials.Tls.Options(CertificateRole.Trainer), CertificateRole.Trainer, TimeProvider.System);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(c => c.UseLocalhostClustering(GatewayPort, serviceId: "gencluster", clusterId: "gencluster").UseClusterTls(tls));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public void Dispose()
    {
        _process?.Dispose();
        Http.Dispose();
    }
}

internal static class HostExtensions
{
    public static IClusterClient Client(this IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
