using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using GenCluster.Trainer.Distributed;
using Microsoft.Extensions.Hosting;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// Runs a benchmark's ranks as local processes of this executable (a hidden worker verb) joined in one ring: each
/// worker hosts its ring server on a free loopback port and prints <c>ring-endpoint=...</c>; the parent hands every
/// worker the full peer list on stdin and relays rank 0's output.
/// </summary>
internal static class BenchRanks
{
    internal const string SecretVariable = "GENCLUSTER_BENCH_RING_SECRET";
    private const string EndpointPrefix = "ring-endpoint=";

    /// <summary>Starts <paramref name="ranks"/> workers with <paramref name="workerArguments"/>(rank) and waits for them; 0 when all succeed.</summary>
    /// <remarks>
    /// With <paramref name="hosts"/>, rank i runs in network namespace i (through <c>ip netns exec</c>, so as root) with
    /// its ring server bound to that host's address (<c>--bind</c>); without, every rank binds to loopback.
    /// </remarks>
    public static async Task<int> RunAsync(
        int ranks, Func<int, IEnumerable<string>> workerArguments, CancellationToken cancellationToken, IReadOnlyList<BenchHost>? hosts = null)
    {
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var workers = new List<Process>();
        try
        {
            for (var rank = 0; rank < ranks; rank++)
            {
                var host = hosts?[rank];
                var arguments = host is null ? workerArguments(rank) : workerArguments(rank).Concat(["--bind", host.Address.ToString()]);
                workers.Add(StartWorker(rank, arguments, secret, host?.Namespace));
            }

            var endpoints = new string[ranks];
            for (var rank = 0; rank < ranks; rank++)
            {
                var line = await workers[rank].StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                if (line is null || !line.StartsWith(EndpointPrefix, StringComparison.Ordinal))
                {
                    await Console.Error.WriteLineAsync($"rank {rank}: expected its ring endpoint, got '{line}'.").ConfigureAwait(false);
                    return 1;
                }
                endpoints[rank] = line[EndpointPrefix.Length..];
            }

            var peers = string.Join(',', endpoints);
            foreach (var worker in workers)
            {
                await worker.StandardInput.WriteLineAsync(peers.AsMemory(), cancellationToken).ConfigureAwait(false);
                await worker.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            var relays = workers.Select((worker, rank) => RelayAsync(worker, rank == 0, cancellationToken)).ToArray();
            await Task.WhenAll(workers.Select(w => w.WaitForExitAsync(cancellationToken))).ConfigureAwait(false);
            await Task.WhenAll(relays).ConfigureAwait(false);
            var failed = workers.Select((w, rank) => (w.ExitCode, rank)).Where(x => x.ExitCode != 0).ToList();
            foreach (var (code, rank) in failed)
                await Console.Error.WriteLineAsync($"rank {rank} exited with code {code}.").ConfigureAwait(false);
            return failed.Count == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var worker in workers)
            {
                if (!worker.HasExited) worker.Kill(entireProcessTree: true);
                worker.Dispose();
            }
        }
    }

    /// <summary>In a worker: hosts the ring server, exchanges endpoints with the parent and opens the ring.</summary>
    public static async Task<BenchRank> JoinAsync(
        int rank, int ranks, string job, Action<RingOptions> configure, CancellationToken cancellationToken, IPAddress? bind = null)
    {
        var secret = Environment.GetEnvironmentVariable(SecretVariable)
            ?? throw new InvalidOperationException($"{SecretVariable} is not set (start ranks through the 'bench' verbs).");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddGenClusterRing(builder.Configuration, configure);
        builder.Services.ListenRing(bind ?? IPAddress.Loopback, 0);
        var app = builder.Build();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var endpoint = app.Services.GetRequiredService<RingListener>().Endpoint;
        Console.WriteLine($"{EndpointPrefix}{endpoint}");
        var peers = (await Console.In.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? "").Split(',');
        if (peers.Length != ranks)
        {
            app.Dispose();
            throw new InvalidOperationException($"rank {rank}: expected {ranks} peer endpoints on stdin, got {peers.Length}.");
        }
        var ring = app.Services.GetRequiredService<RingCollectivesFactory>().Create(job, 1, rank, peers, secret);
        LeaveWhenTheParentIsGone(rank);
        return new BenchRank(app, ring);
    }

    /// <summary>
    /// The parent holds this worker's stdin open until the worker exits; end of file means the parent is gone (killed, even
    /// with SIGKILL, which runs none of its clean-up), and the worker leaves rather than train on, orphaned, on cores
    /// other work needs.
    /// </summary>
    private static void LeaveWhenTheParentIsGone(int rank) => _ = Task.Run(async () =>
    {
        while (await Console.In.ReadLineAsync().ConfigureAwait(false) is not null)
        {
        }
        await Console.Error.WriteLineAsync($"rank {rank}: the bench process that started it is gone (its stdin closed); leaving.").ConfigureAwait(false);
        Environment.Exit(ParentGoneExitCode);
    });

    /// <summary>A worker's exit code when its parent went away.</summary>
    internal const int ParentGoneExitCode = 3;

    /// <summary>The worker arguments every bench worker takes.</summary>
    public static IEnumerable<string> Common(int rank, int ranks, string job) =>
        ["--rank", rank.ToString(CultureInfo.InvariantCulture), "--ranks", ranks.ToString(CultureInfo.InvariantCulture), "--job", job];

    private static async Task RelayAsync(Process worker, bool print, CancellationToken cancellationToken)
    {
        while (await worker.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (print) Console.WriteLine(line);
        }
    }

    private static Process StartWorker(int rank, IEnumerable<string> arguments, string secret, string? netns)
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this executable to start the ranks.");
        var info = new ProcessStartInfo(netns is null ? processPath : "ip")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            foreach (var word in new[] { "netns", "exec", netns, processPath }) info.ArgumentList.Add(word);
        }

        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet") info.ArgumentList.Add(typeof(BenchRanks).Assembly.Location);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment[SecretVariable] = secret;
        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start rank {rank} ({processPath}).");
    }
}

/// <summary>One bench worker's ring and the server hosting it; disposing closes the ring, then the server.</summary>
internal sealed class BenchRank(IHost app, RingCollectives ring) : IAsyncDisposable
{
    public RingCollectives Ring { get; } = ring;

    public async ValueTask DisposeAsync()
    {
        // Before stopping the ring port: open ring streams end orderly when each rank disposes.
        await Ring.DisposeAsync().ConfigureAwait(false);
        await app.StopAsync().ConfigureAwait(false);
        app.Dispose();
    }
}
