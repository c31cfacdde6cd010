using System.CommandLine;
using System.Globalization;
using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// <c>bench allreduce</c>: runs the ring all-reduce across <c>--ranks</c> local processes (this executable's hidden
/// <c>bench allreduce-worker</c> verb) and prints one nccl-tests style line per size.
/// </summary>
public static class BenchAllReduceCommand
{
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
        var hosts = new Option<string?>("--hosts")
        {
            Description = "Run rank i in network namespace i, bound to its address: netns=ip,... one per rank (root; see scripts/netbed/netbed.sh).",
        };
        var transport = BenchTransport.NewOption();
        var command = new Command("allreduce", "Ring all-reduce (float32 sum, in place) across local processes; prints busbw like nccl-tests.")
        {
            ranks, size, sizes, iters, warmup, bf16, hosts, transport,
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

            IReadOnlyList<BenchHost>? placement = null;
            try
            {
                if (parse.GetValue(hosts) is { } text) placement = BenchHost.ParseList(text, n, "--hosts");
            }
            catch (FormatException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
                return 2;
            }

            if (await BenchTransport.ParseAsync(parse.GetValue(transport)).ConfigureAwait(false) is not { } sameHost)
            {
                return 2;
            }

            var plan = new BenchPlan(
                n, bytes, Math.Max(1, parse.GetValue(iters)), Math.Max(0, parse.GetValue(warmup)), parse.GetValue(bf16), placement, sameHost);
            return await RunAsync(plan, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private sealed record BenchPlan(
        int Ranks, long[] Bytes, int Iters, int Warmup, bool Bf16, IReadOnlyList<BenchHost>? Hosts, RingTransport SameHost);

    private static Task<int> RunAsync(BenchPlan plan, CancellationToken cancellationToken)
    {
        var job = $"bench-{Environment.ProcessId}";
        string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        return BenchRanks.RunAsync(plan.Ranks, rank =>
        [
            "bench", "allreduce-worker", .. BenchRanks.Common(rank, plan.Ranks, job),
            "--bytes", string.Join(',', plan.Bytes.Select(I)), "--iters", I(plan.Iters), "--warmup", I(plan.Warmup),
            "--transport", plan.SameHost.Label(),
            .. plan.Bf16 ? new[] { "--bf16" } : [],
        ], cancellationToken, plan.Hosts);
    }
}
