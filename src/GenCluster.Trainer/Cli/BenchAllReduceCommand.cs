using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// <c>bench allreduce</c>: runs the ring all-reduce across <c>--ranks</c> local processes (this executable's hidden
/// <c>bench allreduce-worker</c> verb) and prints one nccl-tests style line per size.
/// </summary>
public static class BenchAllReduceCommand
{
    internal const string SecretVariable = "GENCLUSTER_BENCH_RING_SECRET";

    public static Command Build()
    {
        var bench = new Command("bench", "Benchmarks of the data plane.");
        bench.Subcommands.Add(BuildParent());
        bench.Subcommands.Add(BenchAllReduceWorker.Build());
        bench.Subcommands.Add(BenchOverheadCommand.Build());
        bench.Subcommands.Add(BenchOverheadCommand.BuildWorker());
        return bench;
    }

    private static Command BuildParent()
    {
        var ranks = new Option<int>("--ranks") { Description = "Number of ranks (local processes), 1..8.", DefaultValueFactory = _ => 2 };
        var size = new Option<string>("--size") { Description = "Buffer size, e.g. 64MiB.", DefaultValueFactory = _ => "64MiB" };
        var sizes = new Option<string?>("--sizes") { Description = "Comma-separated sizes (overrides --size), e.g. 1MiB,16MiB,64MiB." };
        var iters = new Option<int>("--iters") { Description = "Timed iterations per size; the line reports their mean.", DefaultValueFactory = _ => 5 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed iterations per size before the timed ones (connections, and the JIT: tiered compilation needs a few dozen all-reduces to reach steady-state code).", DefaultValueFactory = _ => 40 };
        var bf16 = new Option<bool>("--bf16") { Description = "Transfer bfloat16 instead of float32 (wrong= then counts rounding)." };
        var command = new Command("allreduce", "Ring all-reduce (float32 sum, in place) across local processes; prints busbw like nccl-tests.")
        {
            ranks, size, sizes, iters, warmup, bf16,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var n = parse.GetValue(ranks);
            if (n is < 1 or > 8)
            {
                await Console.Error.WriteLineAsync($"--ranks: expected 1..8, got {n}.").ConfigureAwait(false);
                return 2;
            }

            long[] bytes;
            try
            {
                bytes = (parse.GetValue(sizes) ?? parse.GetValue(size)!)
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => ByteSize.Parse(s, parse.GetValue(sizes) is null ? "--size" : "--sizes"))
                    .ToArray();
            }
            catch (FormatException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
                return 2;
            }

            var badSize = bytes.FirstOrDefault(b => b % sizeof(float) != 0 || b / sizeof(float) > Array.MaxLength);
            if (badSize != 0)
            {
                await Console.Error.WriteLineAsync($"--size: expected a multiple of 4 bytes (float32), got {badSize}.").ConfigureAwait(false);
                return 2;
            }

            var plan = new BenchPlan(n, bytes, Math.Max(1, parse.GetValue(iters)), Math.Max(0, parse.GetValue(warmup)), parse.GetValue(bf16));
            return await RunAsync(plan, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private sealed record BenchPlan(int Ranks, long[] Bytes, int Iters, int Warmup, bool Bf16);

    private static async Task<int> RunAsync(BenchPlan plan, CancellationToken cancellationToken)
    {
        var n = plan.Ranks;
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var job = $"bench-{Environment.ProcessId}";
        var workers = new List<Process>();
        try
        {
            for (var rank = 0; rank < n; rank++)
            {
                workers.Add(StartWorker(rank, plan, job, secret));
            }

            var endpoints = new string[n];
            for (var rank = 0; rank < n; rank++)
            {
                var line = await workers[rank].StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                if (line is null || !line.StartsWith("ring-endpoint=", StringComparison.Ordinal))
                {
                    await Console.Error.WriteLineAsync($"rank {rank}: expected its ring endpoint, got '{line}'.").ConfigureAwait(false);
                    return 1;
                }

                endpoints[rank] = line["ring-endpoint=".Length..];
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
            {
                await Console.Error.WriteLineAsync($"rank {rank} exited with code {code}.").ConfigureAwait(false);
            }

            return failed.Count == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var worker in workers)
            {
                if (!worker.HasExited)
                {
                    worker.Kill(entireProcessTree: true);
                }

                worker.Dispose();
            }
        }
    }

    private static async Task RelayAsync(Process worker, bool print, CancellationToken cancellationToken)
    {
        while (await worker.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (print)
            {
                Console.WriteLine(line);
            }
        }
    }

    private static Process StartWorker(int rank, BenchPlan plan, string job, string secret)
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this executable to start the ranks.");
        var info = new ProcessStartInfo(processPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            info.ArgumentList.Add(typeof(BenchAllReduceCommand).Assembly.Location);
        }

        foreach (var arg in new[]
                 {
                     "bench", "allreduce-worker",
                     "--rank", rank.ToString(CultureInfo.InvariantCulture),
                     "--ranks", plan.Ranks.ToString(CultureInfo.InvariantCulture),
                     "--bytes", string.Join(',', plan.Bytes.Select(b => b.ToString(CultureInfo.InvariantCulture))),
                     "--iters", plan.Iters.ToString(CultureInfo.InvariantCulture),
                     "--warmup", plan.Warmup.ToString(CultureInfo.InvariantCulture),
                     "--job", job,
                 })
        {
            info.ArgumentList.Add(arg);
        }

        if (plan.Bf16)
        {
            info.ArgumentList.Add("--bf16");
        }

        info.Environment[SecretVariable] = secret;
        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start rank {rank} ({processPath}).");
    }
}
