using GenCluster.Contracts.Security;
using GenCluster.Silo.Api;

namespace GenCluster.Silo.Local;

/// <summary>A silo process and N trainer processes on this machine, on free loopback ports, with logs in one folder.</summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly List<ChildProcess> _trainers = [];
    private readonly HttpClient _http;

    private readonly string _siloAssembly;
    private readonly string[] _siloArguments;

    private LocalCluster(ChildProcess silo, string siloAssembly, string[] siloArguments, Uri api, string logDirectory, LocalCredentials credentials)
    {
        Silo = silo;
        _siloAssembly = siloAssembly;
        _siloArguments = siloArguments;
        ApiAddress = api;
        LogDirectory = logDirectory;
        Credentials = credentials;
        _http = GenClusterApiClient.CreateHttp(api, credentials.AdminToken);
        Api = new GenClusterApiClient(_http);
    }

    /// <summary>The silo process (a new one after <see cref="RestartSiloAsync"/>).</summary>
    public ChildProcess Silo { get; private set; }

    /// <summary>The trainer processes, by index.</summary>
    public IReadOnlyList<ChildProcess> Trainers => _trainers;

    /// <summary>Base address of the silo's HTTP API (also /metrics, /dashboard).</summary>
    public Uri ApiAddress { get; }

    /// <summary>Client of the silo's API, with the admin token.</summary>
    public GenClusterApiClient Api { get; }

    /// <summary>The API tokens the silo accepts and the cluster's certificates (made for this cluster, in its state directory).</summary>
    public LocalCredentials Credentials { get; }

    /// <summary>Where each process's output goes.</summary>
    public string LogDirectory { get; }

    /// <summary>Metrics endpoints of the trainers.</summary>
    public List<string> TrainerMetrics { get; } = [];

    /// <summary>
    /// Starts the silo (file clustering, its own data directory, new API tokens and certificates in
    /// <paramref name="stateDirectory"/>) and waits until its API answers.
    /// </summary>
    /// <param name="leaseSeconds">Worker lease: a trainer silent this long is lost.</param>
    public static async Task<LocalCluster> StartSiloAsync(string siloAssembly, string stateDirectory, string runsDirectory,
        CancellationToken cancellationToken, double leaseSeconds = 10)
    {
        var ports = FreePorts.Take(3);
        var logs = Path.Combine(stateDirectory, "logs");
        var credentials = LocalCredentials.Create(stateDirectory);
        string[] arguments =
        [
            "silo", "--http-port", $"{ports[0]}", "--silo-port", $"{ports[1]}", "--gateway-port", $"{ports[2]}",
            "--data-dir", Path.Combine(stateDirectory, "silo"), "--runs-dir", runsDirectory,
            "--lease-seconds", leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--prometheus-targets", LocalPrometheus.TargetsDirectory(PrometheusDirectory(stateDirectory)),
            "--token-file", credentials.TokenFile, .. credentials.Tls.Arguments(CertificateRole.Silo),
        ];
        var silo = ChildProcess.Start("silo", siloAssembly, arguments, Path.Combine(logs, "silo.log"));
        var cluster = new LocalCluster(silo, siloAssembly, arguments, new Uri($"http://127.0.0.1:{ports[0]}"), logs, credentials) { GatewayPort = ports[2] };
        try
        {
            await cluster.WaitForSiloAsync(TimeSpan.FromSeconds(60), cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Where a local cluster keeps its Prometheus config and the silo its service-discovery targets.</summary>
    public static string PrometheusDirectory(string stateDirectory) => Path.Combine(stateDirectory, "prometheus");

    /// <summary>Gateway port trainers connect to.</summary>
    public int GatewayPort { get; private init; }

    /// <summary>SIGKILLs the silo (no shutdown hooks run) and starts it again on the same ports and data directory.</summary>
    public async Task RestartSiloAsync(CancellationToken cancellationToken)
    {
        Silo.Kill();
        await Silo.WaitForExitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        await Silo.DisposeAsync();
        Silo = ChildProcess.Start("silo", _siloAssembly, _siloArguments, Path.Combine(LogDirectory, "silo.log"));
        await WaitForSiloAsync(TimeSpan.FromSeconds(60), cancellationToken);
    }

    /// <summary>Starts one trainer process (worker id <c>local-N</c>, N its index in <see cref="Trainers"/>) with the cluster's trainer certificate.</summary>
    /// <param name="extraArguments">More <c>gencluster-trainer run</c> options, e.g. <c>--heartbeat-seconds 0.5</c>.</param>
    public ChildProcess StartTrainer(string trainerAssembly, int threads, string dataDirectory, double graceSeconds, params string[] extraArguments)
    {
        var index = _trainers.Count;
        var ports = FreePorts.Take(2);
        var trainer = ChildProcess.Start($"trainer-{index}", trainerAssembly,
        [
            "run", "--worker-id", $"local-{index}", "--ring-port", $"{ports[0]}", "--metrics-port", $"{ports[1]}",
            "--gateway-port", $"{GatewayPort}", "--threads", $"{threads}", "--data-dir", dataDirectory,
            "--grace-seconds", $"{graceSeconds}", .. Credentials.Tls.Arguments(CertificateRole.Trainer), .. extraArguments,
        ], Path.Combine(LogDirectory, $"trainer-{index}.log"));
        _trainers.Add(trainer);
        TrainerMetrics.Add($"http://127.0.0.1:{ports[1]}/metrics");
        return trainer;
    }

    /// <summary>SIGTERM to every trainer (each checkpoints and leaves), then waits up to <paramref name="grace"/>.</summary>
    public async Task StopTrainersAsync(TimeSpan grace)
    {
        foreach (var trainer in _trainers) trainer.Terminate();
        await Task.WhenAll(_trainers.Select(t => t.WaitForExitAsync(grace)));
    }

    /// <summary>Stops trainers, then the silo.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var trainer in _trainers) await trainer.DisposeAsync();
        await Silo.DisposeAsync();
        _http.Dispose();
    }

    private async Task WaitForSiloAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Silo.HasExited)
                throw new InvalidOperationException($"the silo exited with code {Silo.ExitCode} while starting; its last lines:{Environment.NewLine}{Silo.Tail()}");
            try
            {
                await Api.HealthAsync(cancellationToken);
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                throw new TimeoutException($"the silo's API at {ApiAddress} did not answer within {timeout.TotalSeconds:F0} s: {ex.Message}");
            }
        }
    }
}
