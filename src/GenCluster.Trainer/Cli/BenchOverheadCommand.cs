using System.CommandLine;
using System.Globalization;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Hosting;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// <c>bench overhead</c>: the cost of data parallelism. N local processes time DCGAN steps twice — all-reducing
/// gradients over the gRPC ring, then the same N processes side by side without communication — and rank 0 prints
/// the step times, the overhead, and the training FLOP/s against libtorch's matmul FLOP/s on the same threads.
/// </summary>
public static class BenchOverheadCommand
{
    /// <summary>The user-facing verb.</summary>
    public static Command Build()
    {
        var ranks = new Option<int>("--ranks") { Description = "Trainer processes, 1..8", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per mode", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps per mode (the runtime compiles hot code again, optimised, after a few dozen calls)", DefaultValueFactory = _ => 15 };
        var threads = new Option<int>("--threads") { Description = "TorchSharp threads per process (0 = the cores' share of each rank, one left to the ring from 4 cores each)", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "Images per rank per step", DefaultValueFactory = _ => 32 };
        var width = new Option<int>("--width") { Description = "Base width of the model", DefaultValueFactory = _ => 32 };
        var model = new Option<string>("--model") { Description = $"Model kind: {string.Join(", ", ModelCatalog.Kinds)}", DefaultValueFactory = _ => DcganOptions.KindName };
        var overlap = new Option<string>("--overlap")
        {
            Description = "All-reduce gradient buckets during backward: auto (where each rank has a spare core, as trainers decide), on or off",
            DefaultValueFactory = _ => "auto",
        };
        var hosts = new Option<string?>("--hosts")
        {
            Description = "Run rank i in network namespace i, bound to its address: netns=ip,... one per rank (root; see scripts/netbed/netbed.sh).",
        };
        var transport = BenchTransport.NewOption();
        var bindCores = new Option<string>("--bind-cores")
        {
            Description = "Bind rank i's threads to the i-th block of the cores, as gencluster local --bind-cores does: off, auto (several ranks and a core for each) or on",
            DefaultValueFactory = _ => "off",
        };
        var command = new Command("overhead", "Step time with the ring vs the same processes without it (exposed communication per step); for DCGAN, training FLOP/s vs matmul FLOP/s. The two modes alternate in blocks after a warm-up of each, so drift (JIT tiers, other load) falls on both.")
        {
            ranks, steps, warmup, threads, batch, width, model, overlap, hosts, transport, bindCores,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var n = parse.GetValue(ranks);
            if (n is < 1 or > 8)
            {
                await Console.Error.WriteLineAsync($"--ranks: expected 1..8, got {n}.");
                return 2;
            }
            if (ModelCatalog.Find(parse.GetValue(model)) is null)
            {
                await Console.Error.WriteLineAsync($"--model: expected one of {string.Join(", ", ModelCatalog.Kinds)}, got '{parse.GetValue(model)}'.");
                return 2;
            }
            IReadOnlyList<BenchHost>? placement = null;
            try
            {
                if (parse.GetValue(hosts) is { } text) placement = BenchHost.ParseList(text, n, "--hosts");
            }
            catch (FormatException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 2;
            }
            var t = parse.GetValue(threads) > 0 ? parse.GetValue(threads) : ThreadBudget.ComputeThreads(Environment.ProcessorCount, n);
            if (!OverlapPolicy.Modes.Contains(parse.GetValue(overlap)))
            {
                await Console.Error.WriteLineAsync($"--overlap: expected one of {string.Join(", ", OverlapPolicy.Modes)}, got '{parse.GetValue(overlap)}'.");
                return 2;
            }
            if (parse.GetValue(bindCores) is not ("auto" or "on" or "off"))
            {
                await Console.Error.WriteLineAsync($"--bind-cores: expected auto, on or off, got '{parse.GetValue(bindCores)}'.");
                return 2;
            }
            if (await BenchTransport.ParseAsync(parse.GetValue(transport)) is not { } sameHost)
            {
                return 2;
            }
            var overlaps = OverlapPolicy.Overlaps(parse.GetValue(overlap)!, Environment.ProcessorCount, t, placement is null ? n : 1);
            var job = $"bench-overhead-{Environment.ProcessId}";
            string I(int v) => v.ToString(CultureInfo.InvariantCulture);
            return await BenchRanks.RunAsync(n, rank =>
                ["bench", "overhead-worker", .. BenchRanks.Common(rank, n, job),
                 "--steps", I(parse.GetValue(steps)), "--warmup", I(parse.GetValue(warmup)), "--threads", I(t),
                 "--batch", I(parse.GetValue(batch)), "--width", I(parse.GetValue(width)), "--model", parse.GetValue(model)!,
                 "--transport", sameHost.Label(),
                 .. (overlaps ? [] : (string[])["--no-overlap"]),
                 .. (parse.GetValue(bindCores) == "on" || (parse.GetValue(bindCores) == "auto" && CoreShare.BindsByDefault(Environment.ProcessorCount, n))
                     ? (string[])["--bind-cores"] : []),
                 // On one host, also time one trainer with all the ranks' threads and batch: is data parallelism worth it?
                 .. (placement is null && n > 1 ? (string[])["--one-trainer"] : [])], cancellationToken, placement);
        });
        return command;
    }

    /// <summary>The hidden per-rank verb.</summary>
    public static Command BuildWorker()
    {
        var rank = new Option<int>("--rank") { Required = true };
        var ranks = new Option<int>("--ranks") { Required = true };
        var job = new Option<string>("--job") { Required = true };
        var steps = new Option<int>("--steps") { Required = true };
        var warmup = new Option<int>("--warmup") { Required = true };
        var threads = new Option<int>("--threads") { Required = true };
        var batch = new Option<int>("--batch") { Required = true };
        var width = new Option<int>("--width") { Required = true };
        var model = new Option<string>("--model") { Required = true };
        var noOverlap = new Option<bool>("--no-overlap");
        var oneTrainer = new Option<bool>("--one-trainer");
        var bind = new Option<string?>("--bind");
        var transport = new Option<string>("--transport") { DefaultValueFactory = _ => "shm" };
        var bindCores = new Option<bool>("--bind-cores");
        var command = new Command("overhead-worker", "One rank of bench overhead (started by it).")
        {
            rank, ranks, job, steps, warmup, threads, batch, width, model, noOverlap, oneTrainer, bind, transport, bindCores,
        };
        command.Hidden = true;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var spec = new JobSpec
            {
                PerWorkerBatch = parse.GetValue(batch),
                Model = ModelCatalog.WithWidth(ModelCatalog.Defaults(parse.GetValue(model)!), parse.GetValue(width)),
            };
            int s = parse.GetValue(steps), w = parse.GetValue(warmup), t = parse.GetValue(threads);
            // Every core this process may use, and this rank's block of them when ranks are bound.
            var allCores = CpuAffinity.Supported ? CpuAffinity.Allowed() : null;
            var ownCores = parse.GetValue(bindCores) && allCores is not null ? CoreShare.Of(allCores, parse.GetValue(rank), parse.GetValue(ranks)) : null;
            if (ownCores is not null) CoreBinding.BindAfterLibtorchLoads(ownCores);
            await using var member = await BenchRanks.JoinAsync(parse.GetValue(rank), parse.GetValue(ranks), parse.GetValue(job)!,
                o =>
                {
                    o.CollectiveTimeout = TimeSpan.FromMinutes(5);
                    o.SameHostTransport = parse.GetValue(transport)!;
                }, cancellationToken,
                parse.GetValue(bind) is { } address ? System.Net.IPAddress.Parse(address) : null);
            var ring = member.Ring;
            var single = new SingleRankCollectives();
            using var session = StepBenchmark.Open(spec, t, ring.WorldSize, ring.Rank, overlap: !parse.GetValue(noOverlap));
            session.Time(ring, w);
            session.Time(single, w);
            // The alternative to data parallelism on this host: one trainer with every rank's threads and the global batch,
            // timed on rank 0 in its own blocks while the other ranks sleep in a barrier.
            using var wide = parse.GetValue(oneTrainer) && ring.Rank == 0
                ? StepBenchmark.Open(spec with { PerWorkerBatch = spec.PerWorkerBatch * ring.WorldSize }, t * ring.WorldSize, 1, 0, overlap: false)
                : null;
            // One trainer has every core, as it would alone on the host; the ranks' own blocks come back after it.
            var gate = new object();
            void Wide(Action time)
            {
                using (ownCores is null ? null : CoreBinding.Widen(allCores!, ownCores, gate)) time();
            }
            if (wide is not null) Wide(() => wide.Time(single, w));
            var wideTiming = new StepBenchmark.Timing();
            // Alternate blocks of the two modes, every rank starting each block together, so that slow drift (the JIT
            // promoting hot code, other load on the machine) falls on both modes alike.
            var (ringTiming, aloneTiming) = (new StepBenchmark.Timing(), new StepBenchmark.Timing());
            for (var done = 0; done < s; done += Block)
            {
                var n = Math.Min(Block, s - done);
                await ring.BarrierAsync(cancellationToken);
                aloneTiming.Add(session.Time(single, n));
                await ring.BarrierAsync(cancellationToken);
                ringTiming.Add(session.Time(ring, n));
                if (parse.GetValue(oneTrainer))
                {
                    await ring.BarrierAsync(cancellationToken);
                    if (wide is not null) Wide(() => wideTiming.Add(wide.Time(single, n)));
                    await ring.BarrierAsync(cancellationToken);
                }
            }
            var (withRing, alone) = (session.Result(ringTiming), session.Result(aloneTiming));
            var all = await ring.AllGatherAsync(new[] { withRing.MedianStepSeconds, alone.MedianStepSeconds, alone.TrainingFlops, alone.MatmulFlops, withRing.MedianCollectiveSeconds, withRing.CpuSecondsPerStep, alone.CpuSecondsPerStep, BenchTransport.CodeOf(ring) }, cancellationToken);
            // Every rank's alone steps, in order: the i-th steps of a block started together, after the same barrier.
            var aloneSteps = await ring.AllGatherAsync(aloneTiming.Steps.ToArray(), cancellationToken);
            var ringSteps = await ring.AllGatherAsync(ringTiming.Steps.ToArray(), cancellationToken);
            if (ring.Rank == 0) Console.WriteLine(Report(all, ring.WorldSize, t, spec, LockstepStep(aloneSteps), PairedBlocks.ExposedPerStep(ringSteps, aloneSteps, Block)) + (parse.GetValue(noOverlap) ? " overlap=off" : " overlap=on") +
                string.Create(CultureInfo.InvariantCulture, $" early_buckets={session.OverlapCounts.EarlyLaunches} redos={session.OverlapCounts.Redos}") +
                (wide is null ? "" : OneTrainerReport(all, ring.WorldSize, t, spec, wide.Result(wideTiming).MedianStepSeconds)) +
                $" transport={BenchTransport.Label([.. all.Select(r => r[7])])}" +
                (ownCores is null ? " bind_cores=off" : " bind_cores=on"));
            await ring.BarrierAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// One trainer with all <paramref name="ranks"/> × <paramref name="threads"/> threads at the global batch, against the
    /// ranks with the ring: their images/s, and the ratio (above 1, data parallelism beats more threads in one process).
    /// </summary>
    internal static string OneTrainerReport(double[][] perRank, int ranks, int threads, JobSpec spec, double oneTrainerStep)
    {
        var globalBatch = ranks * spec.PerWorkerBatch;
        var ringImagesPerSecond = globalBatch / perRank.Max(r => r[0]);
        var oneTrainerImagesPerSecond = globalBatch / oneTrainerStep;
        // The ceiling of any data parallelism here: the ranks stepping on their own, with no communication and no waiting.
        var aloneImagesPerSecond = perRank.Sum(r => spec.PerWorkerBatch / r[1]);
        return string.Create(CultureInfo.InvariantCulture,
            $" one_trainer_threads={ranks * threads} one_trainer_step_ms={oneTrainerStep * 1e3:F1} one_trainer_images_per_s={oneTrainerImagesPerSecond:F0} " +
            $"ring_vs_one_trainer={ringImagesPerSecond / oneTrainerImagesPerSecond:F2} alone_vs_one_trainer={aloneImagesPerSecond / oneTrainerImagesPerSecond:F2}");
    }

    /// <summary>
    /// The step a synchronous job would take if communication were free: at each step index, the slowest rank's step
    /// without the ring (ranks that ran side by side, each block's i-th steps starting after the same barrier); the median
    /// over the steps. Above the median of each rank's own steps by what waiting for the slowest costs (stragglers).
    /// </summary>
    internal static double LockstepStep(double[][] aloneStepsPerRank)
    {
        var steps = aloneStepsPerRank.Min(r => r.Length);
        return StepBenchmark.UpperMedian(Enumerable.Range(0, steps).Select(i => aloneStepsPerRank.Max(r => r[i])));
    }

    /// <summary>Steps per block of one mode before switching to the other.</summary>
    private const int Block = 5;

    /// <summary>One line: a step ends when the slowest rank ends it; FLOP/s are per process, averaged.</summary>
    internal static string Report(double[][] perRank, int ranks, int threads, JobSpec spec, double lockstepStep = double.NaN,
        (double Mean, double HalfWidth95, int Blocks)? paired = null)
    {
        var ringStep = perRank.Max(r => r[0]);
        var aloneStep = perRank.Max(r => r[1]);
        var trainFlops = perRank.Average(r => r[2]);
        var matmulFlops = perRank.Average(r => r[3]);
        // Exposed communication: what the ring adds to a step, i.e. the part of the all-reduce not hidden behind compute.
        var line = string.Create(CultureInfo.InvariantCulture,
            $"model={spec.Model.Kind} ranks={ranks} threads={threads} batch={spec.PerWorkerBatch} width={ModelCatalog.WidthOf(spec.Model)} " +
            $"step_ms_ring={ringStep * 1e3:F1} step_ms_alone={aloneStep * 1e3:F1} exposed_comm_ms={(ringStep - aloneStep) * 1e3:F1} " +
            $"overhead_pct={(ringStep / aloneStep - 1) * 100:F1}");
        if (!double.IsNaN(lockstepStep))
        {
            // The exposed time split: waiting for the slowest rank (which free communication would not remove), and the rest.
            line += string.Create(CultureInfo.InvariantCulture,
                $" step_ms_lockstep={lockstepStep * 1e3:F1} straggler_ms={(lockstepStep - aloneStep) * 1e3:F1} comm_beyond_lockstep_ms={(ringStep - lockstepStep) * 1e3:F1}");
        }
        if (paired is { Blocks: >= 2 } p)
        {
            // The same exposed time as a mean over paired blocks, and how far it can be trusted (a 95% interval; it
            // needs two blocks, 10 steps per mode).
            line += string.Create(CultureInfo.InvariantCulture,
                $" exposed_paired_ms={p.Mean * 1e3:F1} exposed_paired_ci95_ms={p.HalfWidth95 * 1e3:F1} paired_blocks={p.Blocks}");
        }
        line += string.Create(CultureInfo.InvariantCulture, $" images_per_s_ring={ranks * spec.PerWorkerBatch / ringStep:F0}");
        if (perRank[0].Length > 4)
        {
            // Where the ring's time goes: blocked in collectives, and CPU (all threads) per step with and without it.
            line += string.Create(CultureInfo.InvariantCulture,
                $" comm_wait_ms={perRank.Average(r => r[4]) * 1e3:F1} cpu_ms_ring={perRank.Average(r => r[5]) * 1e3:F1} cpu_ms_alone={perRank.Average(r => r[6]) * 1e3:F1}");
            // Each rank's own median step without the ring: one rank slower throughout (its core, its data) shows here,
            // where stragglers that move from rank to rank leave the medians level and only raise step_ms_lockstep.
            line += " step_ms_alone_by_rank=" + string.Join('/', perRank.Select(r => (r[1] * 1e3).ToString("F1", CultureInfo.InvariantCulture)));
        }
        return double.IsNaN(trainFlops) ? line : line + string.Create(CultureInfo.InvariantCulture,
            $" train_gflops={trainFlops / 1e9:F1} matmul_gflops={matmulFlops / 1e9:F1} efficiency_pct={trainFlops / matmulFlops * 100:F0}");
    }
}
