using System.Globalization;
using System.Text.RegularExpressions;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Cli;

public class BenchOverheadCommandTests
{
    [Fact]
    public async Task TwoRankProcessesPrintStepTimesOverheadAndEfficiency()
    {
        var output = await RunAsync(TimeSpan.FromSeconds(120), "--steps", "2", "--warmup", "1", "--batch", "4", "--width", "8", "--overlap", "on");
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Trim();
        var match = Regex.Match(line,
            @"^model=dcgan ranks=2 threads=1 batch=4 width=8 step_ms_ring=([\d.]+) step_ms_alone=([\d.]+) exposed_comm_ms=(-?[\d.]+) overhead_pct=(-?[\d.]+) " +
            @"step_ms_lockstep=([\d.]+) straggler_ms=(-?[\d.]+) comm_beyond_lockstep_ms=(-?[\d.]+) images_per_s_ring=\d+ " +
            @"comm_wait_ms=[\d.]+ cpu_ms_ring=[\d.]+ cpu_ms_alone=[\d.]+ step_ms_alone_by_rank=(?<rank0>[\d.]+)/(?<rank1>[\d.]+) train_gflops=([\d.]+) matmul_gflops=([\d.]+) efficiency_pct=(\d+) overlap=on early_buckets=(\d+) redos=(\d+) " +
            @"one_trainer_threads=2 one_trainer_step_ms=([\d.]+) one_trainer_images_per_s=(\d+) ring_vs_one_trainer=([\d.]+) alone_vs_one_trainer=([\d.]+) transport=shm bind_cores=(on|off)$");
        Assert.True(match.Success, $"unexpected line: {line}");
        double Field(int i) => double.Parse(match.Groups[i].Value, CultureInfo.InvariantCulture);
        Assert.True(Field(1) > 0 && Field(2) > 0 && Field(9) > 0, line);
        // Step times print to 0.1 ms, so the overhead they imply is only known within their rounding.
        var (ring, alone, exposed, overhead) = (Field(1), Field(2), Field(3), Field(4));
        Assert.InRange(exposed, ring - alone - 0.15, ring - alone + 0.15);
        var lowest = ((ring - 0.05) / (alone + 0.05) - 1) * 100;
        var highest = ((ring + 0.05) / Math.Max(alone - 0.05, 1e-3) - 1) * 100;
        Assert.InRange(overhead, lowest - 0.05, highest + 0.05);
        // The exposed time splits into waiting for the slowest rank and the rest; step by step the slowest is never faster than
        // either rank, so neither is its median.
        var (lockstep, straggler, beyond) = (Field(5), Field(6), Field(7));
        Assert.InRange(straggler, lockstep - alone - 0.15, lockstep - alone + 0.15);
        Assert.InRange(beyond, ring - lockstep - 0.15, ring - lockstep + 0.15);
        Assert.True(straggler >= -0.1, line);
        // A step ends when the slowest rank ends it: the step alone is the larger of the ranks' own medians.
        var byRank = new[] { match.Groups["rank0"], match.Groups["rank1"] }.Select(g => double.Parse(g.Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(alone, byRank.Max(), 0.05);
        // Rank 0 all-reduced buckets during backward (width 8 still splits G and D into several), none stale.
        Assert.True(Field(11) > 0, line);
        Assert.Equal(0, Field(12));
        // One trainer with both ranks' threads and batch (8 images): its images/s follow from its step, and the ratio from both.
        var (oneStep, oneImages, ratio) = (Field(13), Field(14), Field(15));
        Assert.InRange(oneImages, 8 / ((oneStep + 0.05) / 1e3) - 1, 8 / ((oneStep - 0.05) / 1e3) + 1);
        Assert.InRange(ratio, 8 / ((ring + 0.05) / 1e3) / (oneImages + 0.5) - 0.01, 8 / ((ring - 0.05) / 1e3) / (oneImages - 0.5) + 0.01);
        // Unbound unless asked for, as gencluster local's trainers.
        Assert.Equal("off", match.Groups[17].Value);
    }

    [Fact]
    public async Task WithoutOverlapNoBucketLaunchesDuringBackward()
    {
        var output = await RunAsync(TimeSpan.FromSeconds(120), "--steps", "2", "--warmup", "1", "--batch", "4", "--width", "8", "--overlap", "off", "--transport", "unix", "--bind-cores", "off");
        Assert.Matches(@" overlap=off early_buckets=0 redos=0 one_trainer_threads=2 ", output.Trim());
        // Set to the ring's Unix sockets, the two ranks of this host use them instead of shared memory.
        Assert.EndsWith(" transport=unix bind_cores=off", output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownTransportIsRefusedNamingTheOption()
    {
        var run = await TrainerProcess.RunAsync(TimeSpan.FromSeconds(60), "bench", "overhead", "--ranks", "2", "--transport", "rdma");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--transport: expected shm, unix or tcp, got 'rdma'", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ReportTakesTheSlowestRankAndAveragesFlops()
    {
        var line = BenchOverheadCommand.Report([[0.110, 0.100, 40e9, 100e9], [0.120, 0.080, 60e9, 100e9]], 2, 1,
            new JobSpec { PerWorkerBatch = 32, Model = new GenCluster.Contracts.Models.DcganOptions { Width = 32 } });
        Assert.Equal("model=dcgan ranks=2 threads=1 batch=32 width=32 step_ms_ring=120.0 step_ms_alone=100.0 exposed_comm_ms=20.0 overhead_pct=20.0 " +
                     "images_per_s_ring=533 train_gflops=50.0 matmul_gflops=100.0 efficiency_pct=50", line);
    }

    [Fact]
    public void OneTrainerReportComparesImagesPerSecondAtTheGlobalBatch()
    {
        // Ranks step in 100 and 125 ms (the slower counts): 64 images / 0.125 s = 512/s; one trainer 64 / 0.080 s = 800/s.
        var line = BenchOverheadCommand.OneTrainerReport([[0.100, 0.09], [0.125, 0.09]], 2, 1, new JobSpec { PerWorkerBatch = 32 }, 0.080);
        // Alone, each rank makes 32 / 0.09 s = 356 images/s: 711/s together, 0.89 of the one trainer.
        Assert.Equal(" one_trainer_threads=2 one_trainer_step_ms=80.0 one_trainer_images_per_s=800 ring_vs_one_trainer=0.64 alone_vs_one_trainer=0.89", line);
    }

    [Fact]
    public void ReportForAKindWithoutAFlopCountLeavesFlopsOut()
    {
        var line = BenchOverheadCommand.Report([[0.2, 0.15, double.NaN, double.NaN], [0.19, 0.16, double.NaN, double.NaN]], 2, 1,
            new JobSpec { PerWorkerBatch = 16, Model = new GenCluster.Contracts.Models.VqVae2Options { Width = 64 } });
        Assert.Equal("model=vqvae2 ranks=2 threads=1 batch=16 width=64 step_ms_ring=200.0 step_ms_alone=160.0 exposed_comm_ms=40.0 overhead_pct=25.0 images_per_s_ring=160", line);
    }

    [Fact]
    public void ReportGivesTimeInCollectivesCpuAndEachRanksOwnStep()
    {
        // Per rank: ring step, alone step, two FLOP rates, blocked in collectives, CPU per step with and without the ring, transport.
        var line = BenchOverheadCommand.Report([[0.110, 0.100, double.NaN, double.NaN, 0.012, 0.105, 0.098, 1], [0.120, 0.0805, double.NaN, double.NaN, 0.004, 0.090, 0.079, 1]], 2, 1,
            new JobSpec { PerWorkerBatch = 32, Model = new GenCluster.Contracts.Models.DcganOptions { Width = 32 } });
        Assert.EndsWith(" images_per_s_ring=533 comm_wait_ms=8.0 cpu_ms_ring=97.5 cpu_ms_alone=88.5 step_ms_alone_by_rank=100.0/80.5", line, StringComparison.Ordinal);
    }

    [Fact]
    public void LockstepStepIsTheMedianOverStepsOfTheSlowestRank()
    {
        // Each rank's own median is 80 ms, but the slow steps fall on different ranks: in lockstep, three of four steps
        // wait for a 100 ms step.
        double[][] alone = [[0.080, 0.100, 0.080, 0.060], [0.100, 0.080, 0.100, 0.080]];
        Assert.Equal(0.100, BenchOverheadCommand.LockstepStep(alone), 12);
        // Odd counts take the middle value, even counts the upper middle (as the step medians do); ranks with unequal
        // counts are compared over the steps both have.
        Assert.Equal(0.090, BenchOverheadCommand.LockstepStep([[0.07, 0.09, 0.20], [0.08, 0.05, 0.01]]), 12);
        Assert.Equal(0.080, BenchOverheadCommand.LockstepStep([[0.07, 0.08], [0.06, 0.07, 0.5]]), 12);
        Assert.True(double.IsNaN(BenchOverheadCommand.LockstepStep([[], [0.1]])));
    }

    [Fact]
    public void ReportSplitsTheExposedTimeIntoStragglersAndTheRest()
    {
        var line = BenchOverheadCommand.Report([[0.110, 0.100, double.NaN, double.NaN], [0.120, 0.080, double.NaN, double.NaN]], 2, 1,
            new JobSpec { PerWorkerBatch = 32, Model = new GenCluster.Contracts.Models.DcganOptions { Width = 32 } }, lockstepStep: 0.116);
        Assert.Equal("model=dcgan ranks=2 threads=1 batch=32 width=32 step_ms_ring=120.0 step_ms_alone=100.0 exposed_comm_ms=20.0 overhead_pct=20.0 " +
                     "step_ms_lockstep=116.0 straggler_ms=16.0 comm_beyond_lockstep_ms=4.0 images_per_s_ring=533", line);
    }

    [Fact]
    public void ReportGivesThePairedBlockMeanAndItsIntervalFromTwoBlocks()
    {
        var spec = new JobSpec { PerWorkerBatch = 32, Model = new GenCluster.Contracts.Models.DcganOptions { Width = 32 } };
        double[][] perRank = [[0.110, 0.100, double.NaN, double.NaN], [0.120, 0.080, double.NaN, double.NaN]];

        var line = BenchOverheadCommand.Report(perRank, 2, 1, spec, 0.116, (0.0183, 0.0042, 20));
        Assert.Contains(" comm_beyond_lockstep_ms=4.0 exposed_paired_ms=18.3 exposed_paired_ci95_ms=4.2 paired_blocks=20 images_per_s_ring=533", line, StringComparison.Ordinal);
        // One block has no spread to go by: the fields are left out rather than printed as NaN.
        Assert.DoesNotContain("exposed_paired", BenchOverheadCommand.Report(perRank, 2, 1, spec, 0.116, (0.0183, double.NaN, 1)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vae")]
    [InlineData("vqvae2")]
    [InlineData("biggan")]
    public async Task EveryFamilyRuns(string kind)
    {
        var output = await RunAsync(TimeSpan.FromSeconds(180), "--steps", "1", "--warmup", "1", "--batch", "4", "--width", "16", "--model", kind, "--overlap", "on", "--bind-cores", "auto");
        Assert.Matches($@"^model={kind} ranks=2 threads=1 batch=4 width=16 step_ms_ring=[\d.]+ step_ms_alone=[\d.]+ exposed_comm_ms=-?[\d.]+ overhead_pct=-?[\d.]+ step_ms_lockstep=[\d.]+ straggler_ms=-?[\d.]+ comm_beyond_lockstep_ms=-?[\d.]+ images_per_s_ring=\d+ " +
            @"comm_wait_ms=[\d.]+ cpu_ms_ring=[\d.]+ cpu_ms_alone=[\d.]+ step_ms_alone_by_rank=[\d.]+/[\d.]+ overlap=on early_buckets=[1-9]\d* redos=0 one_trainer_threads=2 one_trainer_step_ms=[\d.]+ one_trainer_images_per_s=\d+ ring_vs_one_trainer=[\d.]+ alone_vs_one_trainer=[\d.]+ transport=shm " +
            // Bound where there is a core for each, as gencluster local --bind-cores auto binds two trainers.
            $"bind_cores={(CoreShare.BindsByDefault(Environment.ProcessorCount, 2) ? "on" : "off")}$",
            output.Trim());
    }

    /// <summary>
    /// A bench killed outright (SIGKILL: none of its clean-up runs) must not leave its ranks training on, orphaned: each
    /// sees its stdin close and leaves within seconds.
    /// </summary>
    [Fact]
    public async Task ItsRanksLeaveWhenTheBenchIsKilled()
    {
        var info = new System.Diagnostics.ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "gencluster-trainer"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { "bench", "overhead", "--ranks", "2", "--threads", "1", "--steps", "1000000", "--warmup", "1", "--batch", "4", "--width", "8" })
            info.ArgumentList.Add(arg);
        using var bench = System.Diagnostics.Process.Start(info)!;
        var job = $"bench-overhead-{bench.Id}";
        List<int> ranks = [];
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while ((ranks = ProcessesWith(job)).Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(200);
            Assert.True(ranks.Count == 2, $"expected 2 ranks of {job}, found {ranks.Count}");
            await Task.Delay(TimeSpan.FromSeconds(5)); // past the exchange of endpoints, training
            bench.Kill(entireProcessTree: false);
            await bench.WaitForExitAsync();
            var gone = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (ProcessesWith(job).Count > 0 && DateTime.UtcNow < gone) await Task.Delay(200);
            Assert.Empty(ProcessesWith(job));
        }
        finally
        {
            foreach (var pid in ranks)
            {
                try
                {
                    using var rank = System.Diagnostics.Process.GetProcessById(pid);
                    rank.Kill();
                }
                catch (ArgumentException)
                {
                }
            }
        }
    }

    /// <summary>Live processes whose command line names <paramref name="job"/>.</summary>
    private static List<int> ProcessesWith(string job)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                var status = File.ReadAllText(Path.Combine(dir, "status"));
                if (cmdline.Contains(job, StringComparison.Ordinal) && !status.Contains("State:\tZ", StringComparison.Ordinal)) found.Add(pid);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>Runs <c>bench overhead --ranks 2 --threads 1</c> with <paramref name="arguments"/>; asserts exit 0 and returns stdout.</summary>
    private static async Task<string> RunAsync(TimeSpan limit, params string[] arguments)
    {
        var run = await TrainerProcess.RunAsync(limit, ["bench", "overhead", "--ranks", "2", "--threads", "1", .. arguments]);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        return run.Stdout;
    }
}
