using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// Hidden <c>bench allreduce-worker</c>: one rank of <c>bench allreduce</c>; joins the ring through
/// <see cref="BenchRanks.JoinAsync"/>, then times the all-reduce.
/// </summary>
internal static class BenchAllReduceWorker
{
    public static Command Build()
    {
        var rank = new Option<int>("--rank") { Required = true };
        var ranks = new Option<int>("--ranks") { Required = true };
        var bytes = new Option<string>("--bytes") { Required = true };
        var iters = new Option<int>("--iters") { DefaultValueFactory = _ => 5 };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 40 };
        var job = new Option<string>("--job") { Required = true };
        var bf16 = new Option<bool>("--bf16");
        var bind = new Option<string?>("--bind") { Description = "Address the ring server binds to (default loopback)." };
        var transport = new Option<string>("--transport") { DefaultValueFactory = _ => "shm" };
        var command = new Command("allreduce-worker", "One rank of bench allreduce (started by it).")
        {
            rank, ranks, bytes, iters, warmup, job, bf16, bind, transport,
        };
        command.Hidden = true;
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetValue(rank), parse.GetValue(ranks),
            parse.GetValue(bytes)!.Split(',').Select(b => long.Parse(b, CultureInfo.InvariantCulture)).ToArray(),
            parse.GetValue(iters), parse.GetValue(warmup), parse.GetValue(job)!, parse.GetValue(bf16),
            parse.GetValue(bind) is { } address ? System.Net.IPAddress.Parse(address) : null, parse.GetValue(transport)!, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(
        int rank, int n, long[] sizes, int iters, int warmup, string job, bool bf16, System.Net.IPAddress? bind, string transport,
        CancellationToken cancellationToken)
    {
        await using var member = await BenchRanks.JoinAsync(rank, n, job, o =>
        {
            o.CollectiveTimeout = TimeSpan.FromMinutes(2);
            o.UseBf16 = bf16;
            o.SameHostTransport = transport;
        }, cancellationToken, bind).ConfigureAwait(false);
        await MeasureAsync(member.Ring, rank, n, sizes, iters, warmup, cancellationToken).ConfigureAwait(false);
        await member.Ring.BarrierAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }

    private static async Task MeasureAsync(RingCollectives ring, int rank, int n, long[] sizes, int iters, int warmup, CancellationToken cancellationToken)
    {
        foreach (var size in sizes)
        {
            var buffer = new float[size / sizeof(float)];
            var times = new List<double>();
            var cpu = new List<double>();
            for (var iteration = 0; iteration < warmup + iters; iteration++)
            {
                Fill(buffer, rank);
                await ring.BarrierAsync(cancellationToken).ConfigureAwait(false);
                var cpuBefore = Environment.CpuUsage.TotalTime;
                var started = Stopwatch.GetTimestamp();
                await ring.AllReduceAsync(buffer, ReduceOp.Sum, cancellationToken).ConfigureAwait(false);
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var cpuSeconds = (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds;
                if (iteration >= warmup)
                {
                    times.Add(seconds);
                    cpu.Add(cpuSeconds);
                }
            }

            var wrong = CountWrong(buffer, n);
            var link = BenchTransport.CodeOf(ring);
            var gathered = await ring.AllGatherAsync(times.Append(wrong).Append(cpu.Average()).Append(link).ToArray(), cancellationToken).ConfigureAwait(false);
            if (rank == 0)
            {
                // An iteration ends when the slowest rank has the result.
                var perIteration = Enumerable.Range(0, iters).Select(i => gathered.Max(g => g[i])).ToArray();
                var mean = perIteration.Average();
                var algbw = size / mean / 1e9;
                var busbw = algbw * 2 * (n - 1) / n;
                // CPU (user + system) of one rank's whole process during one all-reduce, averaged over ranks and iterations.
                var cpuMs = gathered.Average(g => g[iters + 1]) * 1e3;
                var links = BenchTransport.Label([.. gathered.Select(g => g[iters + 2])]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"ranks={n} bytes={size} time_ms={mean * 1e3:F3} algbw_GBs={algbw:F3} busbw_GBs={busbw:F3} wrong={gathered.Sum(g => (long)g[iters])} cpu_ms={cpuMs:F1} transport={links}"));
            }
        }
    }

    /// <summary>Small integers: every partial sum is exact in float32, so the result can be checked element by element.</summary>
    private static void Fill(float[] buffer, int rank)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (i % 13) + rank;
        }
    }

    private static long CountWrong(float[] buffer, int n)
    {
        long wrong = 0;
        var rankSum = n * (n - 1) / 2;
        for (var i = 0; i < buffer.Length; i++)
        {
            if (buffer[i] != (n * (i % 13)) + rankSum)
            {
                wrong++;
            }
        }

        return wrong;
    }
}
