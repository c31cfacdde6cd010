using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.IntegrationTests.Faults;
using GenCluster.Contracts.Security;
using GenCluster.Silo.Local;
using GenCluster.Silo.Security;
using Xunit.Abstractions;
using LocalProcess = GenCluster.Silo.Local.ChildProcess;

namespace GenCluster.IntegrationTests.MultiHost;

/// <summary>
/// GenCluster across hosts: the test bed of <c>scripts/netbed/netbed.sh</c> (network namespaces on one bridge, links
/// shaped by tc), with Redis and two silos on control hosts and one trainer per GPU host (two per host for the two-level
/// all-reduce). Needs root.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed partial class MultiHostTests(ITestOutputHelper log) : IDisposable
{
    private const int RedisPort = 6379;
    private const double CollectiveDeadlineSeconds = 5;
    private static readonly string SharedDataDirectory = Path.Combine(Path.GetTempPath(), "gencluster-faults-data");
    private readonly string _root = Directory.CreateTempSubdirectory("gencluster-multihost-").FullName;
    private readonly List<IDisposable> _owned = [];

    [Fact]
    public async Task AJobTrainsAcrossHostsSurvivesALinkCutTakesTheHostBackAndOutlivesASiloHost()
    {
        using var bed = NetBed.Up(gpuHosts: 3, profile: "1gbit");
        var volume = Path.Combine(_root, "volume");
        var redis = $"{bed.Control.Address}:{RedisPort}";
        await StartRedisAsync(bed.Control);
        var siloA = Own(Silo(bed.Control, "a", redis, tls: null));
        var siloB = Own(Silo(bed.Control2, "b", redis, siloA.Credentials.Tls));
        await siloA.StartAsync();
        await siloB.StartAsync(silos: 2);
        await siloA.WaitHealthyAsync(silos: 2);
        var trainers = bed.GpuHosts.ToDictionary(h => h.Name, h => StartTrainer(h, redis, siloA.Credentials.Tls));
        await WaitForWorkersAsync(siloA, bed.GpuHosts.Select(h => h.Name), TimeSpan.FromSeconds(90), trainers.Values);

        // 1. A job across the three GPU hosts: every member advertises its own host's address, and the ring crosses the links.
        var job = await siloA.Api.SubmitAsync(Spec(volume));
        var running = await WaitForAsync(siloA, job.Id, s => s.State == JobState.Running && s.Rounds[^1].Members.Count == 3 && s.Progress?.Step >= 8,
            TimeSpan.FromSeconds(180), "running on 3 hosts past step 8", trainers.Values);
        var members = running.Rounds[^1].Members;
        Assert.Equal(bed.GpuHosts.Select(h => h.Name).Order(), members.Select(m => m.Host).Order());
        Assert.All(members, m => Assert.StartsWith($"http://{NetBed.Host(m.Host).Address}:", m.RingEndpoint, StringComparison.Ordinal));
        Assert.True(Directory.EnumerateDirectories(Path.Combine(running.RunDirectory, "checkpoints")).Any(), "no checkpoint on the shared volume");

        // 2. One host's link is cut (no reset, packets vanish): detected within the collective deadline, named, and the job goes on without it.
        var victim = members.Single(m => m.Rank == 1);
        var victimHost = NetBed.Host(victim.Host);
        var cutAt = DateTimeOffset.UtcNow;
        bed.Cut(victimHost);
        var recovered = await WaitForAsync(siloA, job.Id,
            s => s.Recoveries.Any(r => r.EndedRound == running.CurrentRound) && s.State == JobState.Running && s.Rounds[^1].Members.Count == 2,
            TimeSpan.FromSeconds(120), "running again on the 2 other hosts", trainers.Values);
        var failure = recovered.History.First(e => e.Kind == "round-failed" && e.Round == running.CurrentRound);
        var detection = (failure.At - cutAt).TotalSeconds;
        var recovery = recovered.Recoveries.Single(r => r.EndedRound == running.CurrentRound);
        log.WriteLine($"link cut of {victimHost.Name} ({victimHost.Address}, rank 1): detected after {detection:F1} s: {failure.Message}");
        log.WriteLine($"  running again {(recovery.RunningAt - cutAt).TotalSeconds:F1} s after the cut (recovery {recovery.Seconds:F1} s, {recovery.LostSteps} steps lost)");
        Assert.True(detection < CollectiveDeadlineSeconds + 5, $"the cut was detected only after {detection:F1} s (deadline {CollectiveDeadlineSeconds} s)");
        // The ranks around the cut time out on whichever neighbour they were blocked on; the silent host is named first.
        Assert.StartsWith($"round {running.CurrentRound} ended: rank 1 (worker {victim.WorkerId} on host {victim.Host}, no heartbeat for ", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(recovered.Rounds[^1].Members, m => m.Host == victim.Host);

        // 3. The link comes back: the worker registers again and joins the next round that forms (one host leaves to make one).
        bed.Restore(victimHost);
        await WaitForWorkersAsync(siloA, [victimHost.Name], TimeSpan.FromSeconds(90), trainers.Values);
        var leaving = recovered.Rounds[^1].Members.Single(m => m.Rank == 1);
        trainers[leaving.Host].Terminate();
        var rejoined = await WaitForAsync(siloA, job.Id,
            s => s.State == JobState.Running && s.CurrentRound > recovered.CurrentRound && s.Rounds[^1].Members.Any(m => m.Host == victim.Host)
                 && s.Progress?.Step > recovered.Progress?.Step,
            TimeSpan.FromSeconds(120), $"running with {victimHost.Name} again", trainers.Values);
        log.WriteLine($"{victimHost.Name} back in round {rejoined.CurrentRound} with {string.Join(", ", rejoined.Rounds[^1].Members.Select(m => m.Host))}");

        // 4. The second silo's host fails (process killed, link cut): the other silo on Redis still has the whole job and
        //    hears its progress again; nothing of its state is lost.
        var before = await siloA.Api.GetJobAsync(job.Id);
        var failAt = Stopwatch.StartNew();
        siloB.Kill();
        bed.Cut(bed.Control2);
        var after = await WaitForAsync(siloA, job.Id, s => s.Progress?.Step > before.Progress!.Step + 5, TimeSpan.FromSeconds(120),
            "progress heard again through the surviving silo", trainers.Values);
        log.WriteLine($"silo host ctl2 failed at step {before.Progress!.Step}: progress heard through ctl's silo after {failAt.Elapsed.TotalSeconds:F1} s (step {after.Progress!.Step})");
        Assert.Equal((before.Spec.Name, before.Spec.Steps, before.RunDirectory), (after.Spec.Name, after.Spec.Steps, after.RunDirectory));
        Assert.True(after.History.Count >= before.History.Count);
        Assert.Equal(before.History, after.History.Take(before.History.Count));
        Assert.Equal(before.Rounds.Select(r => r.Number), after.Rounds.Select(r => r.Number).Take(before.Rounds.Count));
        Assert.Equal(before.Restarts, after.Restarts);

        // 5. Host ctl2 comes back with a new silo, then the first silo fails (Redis, on the same host, stays): the job
        //    grain has now lived through the loss of either silo, wherever Orleans had placed it.
        bed.Restore(bed.Control2);
        await siloB.StartAsync(silos: 2);
        await siloA.WaitHealthyAsync(silos: 2);
        var beforeA = await siloB.Api.GetJobAsync(job.Id);
        failAt.Restart();
        siloA.Kill();
        var afterA = await WaitForAsync(siloB, job.Id, s => s.Progress?.Step > beforeA.Progress!.Step + 5, TimeSpan.FromSeconds(120),
            "progress heard again through the restarted silo", trainers.Values);
        log.WriteLine($"silo on ctl failed at step {beforeA.Progress!.Step}: progress heard through ctl2's new silo after {failAt.Elapsed.TotalSeconds:F1} s (step {afterA.Progress!.Step})");
        Assert.Equal(beforeA.History, afterA.History.Take(beforeA.History.Count));
        Assert.Equal(beforeA.Restarts, afterA.Restarts);

        var cancelled = await siloB.Api.CancelAsync(job.Id);
        Assert.Equal(JobState.Cancelled, cancelled.State);
    }

    [Fact]
    public async Task AJobWithTwoTrainersPerHostAllReducesInTwoLevelsAndGoesOnWhenOneIsKilled()
    {
        using var bed = NetBed.Up(gpuHosts: 2, profile: "1gbit");
        // 1. Four trainers on two hosts: each host's pair shares memory, and each pair's ranks carry half the buffer across.
        var (silo, trainers, job, running) = await StartTwoTrainersPerHostAsync(bed, minWorkers: 3);
        var members = running.Rounds[^1].Members;

        // 2. A trainer that does not lead its host is killed: the round fails naming it, and the job goes on with three
        //    ranks (one host of two, one of one: now the leaders alone carry the hosts' sums across).
        var victim = members.First(m => members.Any(o => o.Host == m.Host && o.Rank < m.Rank));
        var killedAt = DateTimeOffset.UtcNow;
        trainers[victim.WorkerId].Kill();
        var recovered = await WaitForAsync(silo, job.Id,
            s => s.Recoveries.Any(r => r.EndedRound == running.CurrentRound) && s.State == JobState.Running && s.Rounds[^1].Members.Count == 3
                 && s.Progress?.Step > running.Progress!.Step + 5,
            TimeSpan.FromSeconds(120), "running again with 3 trainers", trainers.Values.Where(t => t != trainers[victim.WorkerId]));
        var failure = recovered.History.First(e => e.Kind == "round-failed" && e.Round == running.CurrentRound);
        var recovery = recovered.Recoveries.Single(r => r.EndedRound == running.CurrentRound);
        log.WriteLine($"killed {victim.WorkerId} (rank {victim.Rank}): round failed after {(failure.At - killedAt).TotalSeconds:F1} s: {failure.Message}");
        log.WriteLine($"  running again {(recovery.RunningAt - killedAt).TotalSeconds:F1} s after the kill (recovery {recovery.Seconds:F1} s, {recovery.LostSteps} steps lost)");
        Assert.Contains($"rank {victim.Rank} ", failure.Message, StringComparison.Ordinal);
        Assert.True((failure.At - killedAt).TotalSeconds < CollectiveDeadlineSeconds, $"the kill was noticed only after {(failure.At - killedAt).TotalSeconds:F1} s");
        await WaitForLogAsync(trainers.Keys.Where(t => t != victim.WorkerId), "cross the hosts over 1 ring(s)", 3, TimeSpan.FromSeconds(30));

        await silo.Api.CancelAsync(job.Id);
    }

    [Fact]
    public async Task CuttingTheLinkOfAHostWithTwoTrainersNamesARankOnThatHostAndTheOtherHostGoesOn()
    {
        using var bed = NetBed.Up(gpuHosts: 2, profile: "1gbit");
        var (silo, trainers, job, running) = await StartTwoTrainersPerHostAsync(bed, minWorkers: 2);
        var members = running.Rounds[^1].Members;

        // The host without rank 0 goes dark: both rings across the hosts stall. The ranks on the other host wait in shared
        // memory a little longer than their rings, so what they report names the far host, not their own host's peer.
        var cut = NetBed.Host(members.First(m => m.Host != members.Single(x => x.Rank == 0).Host).Host);
        var cutAt = DateTimeOffset.UtcNow;
        bed.Cut(cut);
        var recovered = await WaitForAsync(silo, job.Id,
            s => s.Recoveries.Any(r => r.EndedRound == running.CurrentRound) && s.State == JobState.Running && s.Rounds[^1].Members.Count == 2
                 && s.Progress?.Step > running.Progress!.Step + 5,
            TimeSpan.FromSeconds(120), "running again on the other host", trainers.Values);
        var failure = recovered.History.First(e => e.Kind == "round-failed" && e.Round == running.CurrentRound);
        var recovery = recovered.Recoveries.Single(r => r.EndedRound == running.CurrentRound);
        var detection = (failure.At - cutAt).TotalSeconds;
        log.WriteLine($"link cut of {cut.Name} (2 trainers): round failed after {detection:F1} s: {failure.Message}");
        log.WriteLine($"  running again on the other host {(recovery.RunningAt - cutAt).TotalSeconds:F1} s after the cut (recovery {recovery.Seconds:F1} s, {recovery.LostSteps} steps lost)");
        foreach (var survivor in members.Where(m => m.Host != cut.Name))
        {
            var reported = File.ReadLines(TrainerLog(survivor.WorkerId)).FirstOrDefault(l => l.Contains($"round {running.CurrentRound} failed:", StringComparison.Ordinal));
            log.WriteLine($"  {survivor.WorkerId} (rank {survivor.Rank}) reported:{reported}");
            // Whatever it reports, the rank it blames is on the cut host.
            var blamed = Regex.Match(reported ?? "", @"rank (\d+) \(http").Groups[1].Value;
            Assert.True(blamed.Length > 0, $"{survivor.WorkerId} reported no failure naming a rank: {reported}");
            Assert.Equal(cut.Name, members.Single(m => m.Rank == int.Parse(blamed, CultureInfo.InvariantCulture)).Host);
        }

        Assert.True(detection < CollectiveDeadlineSeconds + HierarchyGraceSeconds + 5, $"the cut was detected only after {detection:F1} s");
        Assert.All(recovered.Rounds[^1].Members, m => Assert.NotEqual(cut.Name, m.Host));
        await silo.Api.CancelAsync(job.Id);
    }

    /// <summary>How much longer than the rings across hosts the ranks of a host wait for each other (HierarchicalAllReduce.HostGrace).</summary>
    private const double HierarchyGraceSeconds = 2;

    /// <summary>
    /// Redis and a silo on ctl, two trainers on each GPU host, and a job running on all four past step 8 in two levels
    /// (every trainer has logged its two rings across the hosts).
    /// </summary>
    private async Task<(SiloProcess Silo, Dictionary<string, LocalProcess> Trainers, JobStatus Job, JobStatus Running)> StartTwoTrainersPerHostAsync(
        NetBed bed, int minWorkers)
    {
        var volume = Path.Combine(_root, "volume");
        var redis = $"{bed.Control.Address}:{RedisPort}";
        await StartRedisAsync(bed.Control);
        var silo = Own(Silo(bed.Control, "a", redis, tls: null));
        await silo.StartAsync();
        var trainers = new Dictionary<string, LocalProcess>();
        foreach (var host in bed.GpuHosts)
        {
            trainers[$"{host.Name}-a"] = StartTrainer(host, redis, silo.Credentials.Tls, $"{host.Name}-a", ringPort: 29500);
            trainers[$"{host.Name}-b"] = StartTrainer(host, redis, silo.Credentials.Tls, $"{host.Name}-b", ringPort: 29510);
        }

        await WaitForWorkersAsync(silo, trainers.Keys, TimeSpan.FromSeconds(90), trainers.Values);
        var job = await silo.Api.SubmitAsync(Spec(volume) with { MinWorkers = minWorkers, MaxWorkers = 4 });
        var running = await WaitForAsync(silo, job.Id, s => s.State == JobState.Running && s.Rounds[^1].Members.Count == 4 && s.Progress?.Step >= 8,
            TimeSpan.FromSeconds(180), "running with 4 trainers past step 8", trainers.Values);
        Assert.All(bed.GpuHosts, h => Assert.Equal(2, running.Rounds[^1].Members.Count(m => m.Host == h.Name)));
        await WaitForLogAsync(trainers.Keys, "cross the hosts over 2 ring(s)", 4, TimeSpan.FromSeconds(30));
        return (silo, trainers, job, running);
    }

    /// <summary>Waits until at least <paramref name="count"/> of the trainers <paramref name="workerIds"/> have logged <paramref name="text"/>.</summary>
    private async Task WaitForLogAsync(IEnumerable<string> workerIds, string text, int count, TimeSpan timeout)
    {
        string Log(string id)
        {
            using var stream = new FileStream(TrainerLog(id), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(stream).ReadToEnd();
        }

        var deadline = DateTime.UtcNow + timeout;
        while (workerIds.Count(id => Log(id).Contains(text, StringComparison.Ordinal)) < count)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"fewer than {count} of trainers {string.Join(", ", workerIds)} logged '{text}' within {timeout.TotalSeconds:F0} s");
            await Task.Delay(250);
        }
    }

    private string TrainerLog(string workerId) => Path.Combine(_root, "logs", $"trainer-{workerId}.log");

    [Fact]
    public async Task TheRingFillsAShapedLinkAndNeverExceedsIt()
    {
        using var bed = NetBed.Up(gpuHosts: 3, profile: "1gbit");
        var hosts = string.Join(',', bed.GpuHosts.Select(h => $"{h.Namespace}={h.Address}"));
        var table = new List<string> { "| profile | line rate MB/s | buffer | busbw MB/s | fraction of line rate |", "| --- | --- | --- | --- | --- |" };
        foreach (var (profile, lineRate) in new[] { ("1gbit", 125.0), ("10gbit", 1250.0) })
        {
            bed.Shape(profile);
            var output = await RunBenchAsync(hosts);
            var busbw = BusbwLine().Matches(output).Select(m => (Bytes: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                MBs: double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * 1000)).ToList();
            Assert.True(busbw.Count == 2, $"bench allreduce printed no busbw lines:\n{output}");
            // The namespaces share one file system, so each rank's Unix socket file is visible to the others, but their
            // addresses differ: every link must go over TCP, through the shaped link.
            Assert.True(output.Split('\n').Count(l => l.EndsWith("transport=tcp", StringComparison.Ordinal)) == 2, $"a link left TCP:\n{output}");
            foreach (var (bytes, mbs) in busbw) table.Add($"| {profile} | {lineRate:F0} | {bytes >> 20} MiB | {mbs:F1} | {mbs / lineRate:P0} |");
            if (profile == "1gbit")
            {
                // The shaping is real (nothing beats the line rate), and the ring fills most of it.
                Assert.All(busbw, b => Assert.InRange(b.MBs / lineRate, 0.5, 1.05));
            }
        }

        foreach (var line in table) log.WriteLine(line);
    }

    [Fact]
    public async Task TwoRanksPerHostAllReduceInTwoLevelsAndSendTwoThirdsOfTheFlatRingsBytes()
    {
        using var bed = NetBed.Up(gpuHosts: 2, profile: "10gbit");
        // Ranks 0, 1 on gpu1 and 2, 3 on gpu2. The flat ring sends 2(n-1)/n = 1.5 buffers per all-reduce over each host's
        // link; two levels send 2(H-1)/H = 1 buffer (the hosts' sums, between the two leaders).
        var hosts = string.Join(',', bed.GpuHosts.SelectMany(h => new[] { h, h }).Select(h => $"{h.Namespace}={h.Address}"));
        const long buffer = 16L << 20;
        const int allReduces = 4;
        var sent = new Dictionary<string, long>();
        foreach (var transport in new[] { "shm", "unix" })
        {
            var before = NetBed.SentBytes(bed.GpuHosts[0]);
            var output = await RunBenchAsync(hosts, "--ranks", "4", "--sizes", "16MiB", "--iters", "3", "--warmup", "1", "--transport", transport);
            sent[transport] = NetBed.SentBytes(bed.GpuHosts[0]) - before;
            log.WriteLine($"{transport}: {output.Trim()} gpu1 sent {sent[transport] / 1048576.0:F1} MiB");
            Assert.Contains("wrong=0", output, StringComparison.Ordinal);
            Assert.Contains(transport == "shm" ? "transport=hosts+shm" : "transport=mixed", output, StringComparison.Ordinal);
        }

        // Each count holds the all-reduces' payload plus framing, the barriers and the set-up.
        Assert.InRange(sent["shm"], allReduces * buffer, allReduces * buffer * 1.15);
        Assert.InRange(sent["unix"], allReduces * buffer * 3 / 2, allReduces * buffer * 3 / 2 * 1.15);
    }

    private async Task<string> RunBenchAsync(string hosts) =>
        await RunBenchAsync(hosts, "--ranks", "3", "--sizes", "16MiB,64MiB", "--iters", "3", "--warmup", "5");

    private async Task<string> RunBenchAsync(string hosts, params string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[TrainerExecutable.Locate(null, AppContext.BaseDirectory), "bench", "allreduce", .. arguments, "--hosts", hosts])
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"bench allreduce exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
        return await stdout;
    }

    [GeneratedRegex(@"bytes=(\d+) .*busbw_GBs=([0-9.]+)")]
    private static partial Regex BusbwLine();

    private JobSpec Spec(string volume) => new()
    {
        Name = "multihost",
        DatasetLimit = 512,
        PerWorkerBatch = 8,
        Model = new DcganOptions { Width = 8, LatentDim = 16, EmaDecay = 0 },
        // Longer than the test: it is cancelled at the end.
        Steps = 1_000_000,
        MinWorkers = 2,
        MaxWorkers = 3,
        CheckpointEvery = 5,
        KeepCheckpoints = 3,
        SampleEvery = 0,
        RestartBudget = 10,
        RunsDirectory = volume,
    };

    private SiloProcess Silo(NetHost host, string name, string redis, DevCertificateSet? tls) => new(host, Path.Combine(_root, name), tls,
        "--clustering", "redis", "--redis", redis, "--advertise", host.Address, "--runs-dir", Path.Combine(_root, "volume"));

    private async Task StartRedisAsync(NetHost host)
    {
        Own(new ChildProcess(NetBed.Script, NetBed.On(host, "redis-server", "--bind", host.Address, "--port", RedisPort.ToString(CultureInfo.InvariantCulture),
            "--save", "", "--appendonly", "no", "--protected-mode", "no")));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(host.Address, RedisPort);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private LocalProcess StartTrainer(NetHost host, string redis, DevCertificateSet tls, string? workerId = null, int ringPort = 29500)
    {
        workerId ??= host.Name;
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        var trainer = LocalProcess.StartProgram($"trainer-{workerId}", NetBed.Script, NetBed.On(host, "dotnet",
        [
            TrainerExecutable.Locate(null, AppContext.BaseDirectory), "run", "--worker-id", workerId, "--advertise-host", host.Address,
            "--ring-port", I(ringPort), "--metrics-port", I(ringPort + 1), "--redis", redis, "--threads", "1", "--data-dir", SharedDataDirectory,
            "--heartbeat-seconds", "0.5", "--grace-seconds", "20",
            "--collective-timeout-seconds", CollectiveDeadlineSeconds.ToString(CultureInfo.InvariantCulture),
            .. tls.Arguments(CertificateRole.Trainer),
        ]),
            TrainerLog(workerId));
        _owned.Add(new Disposer(() => trainer.Kill()));
        return trainer;
    }

    private static async Task WaitForWorkersAsync(SiloProcess silo, IEnumerable<string> workerIds, TimeSpan timeout, IEnumerable<LocalProcess> trainers)
    {
        var wanted = workerIds.ToHashSet();
        var deadline = DateTime.UtcNow + timeout;
        var alive = new List<string>();
        while (DateTime.UtcNow < deadline)
        {
            alive = (await silo.Api.ListWorkersAsync()).Where(w => w.Alive).Select(w => w.Info.WorkerId).ToList();
            if (wanted.IsSubsetOf(alive)) return;
            await Task.Delay(250);
        }

        throw new TimeoutException($"workers {string.Join(", ", wanted)} not all alive within {timeout.TotalSeconds:F0} s (alive: {string.Join(", ", alive)})\n{Tails(trainers)}");
    }

    private static async Task<JobStatus> WaitForAsync(
        SiloProcess silo, string jobId, Func<JobStatus, bool> done, TimeSpan timeout, string what, IEnumerable<LocalProcess> trainers)
    {
        var deadline = DateTime.UtcNow + timeout;
        JobStatus? status = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                status = await silo.Api.GetJobAsync(jobId);
                if (done(status)) return status;
            }
            catch (Exception e) when (e is HttpRequestException or GenCluster.Silo.Api.GenClusterApiException { StatusCode: 503 })
            {
                // While the failed silo is not yet declared dead, calls to grains it held fail with 503; ask again.
            }

            await Task.Delay(250);
        }

        var history = status is null ? "(no status)" : string.Join("\n", status.History.Select(e => $"{e.At:HH:mm:ss.fff} {e.Kind} r{e.Round}: {e.Message}"));
        throw new TimeoutException($"job {jobId} not {what} within {timeout.TotalSeconds:F0} s; state {status?.State}, step {status?.Progress?.Step}\n{history}\n{Tails(trainers)}");
    }

    private static string Tails(IEnumerable<LocalProcess> trainers) => string.Join("\n", trainers.Select(t => $"--- {t.Name}\n{t.Tail()}"));

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            try
            {
                owned.Dispose();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A process still closing a log; the temp directory is cleaned with the machine.
        }
    }

    private sealed class Disposer(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
