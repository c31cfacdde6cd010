using System.Globalization;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Silo.Local;

/// <summary>When and how <c>gencluster chaos</c> injects faults.</summary>
public sealed record ChaosOptions
{
    /// <summary>SIGKILL a random member of the running round this often, seconds (<c>--kill-every</c>).</summary>
    public double KillEverySeconds { get; init; } = 20;

    /// <summary>SIGTERM another member once, this many seconds after submission (<c>--sigterm-at</c>).</summary>
    public double SigtermAtSeconds { get; init; } = 30;

    /// <summary>SIGKILL the silo and start it again once, this many seconds after submission (<c>--silo-restart-at</c>).</summary>
    public double SiloRestartAtSeconds { get; init; } = 70;

    /// <summary>Stop injecting faults once the job is this far, 0..1 (<c>--quiet-after</c>).</summary>
    public double QuietAfterFraction { get; init; } = 0.9;

    /// <summary>Seed of the victim choice (<c>--chaos-seed</c>).</summary>
    public int Seed { get; init; } = 7;

    /// <summary>Worker lease of the silo, seconds (<c>--lease-seconds</c>).</summary>
    public double LeaseSeconds { get; init; } = 5;

    /// <summary>Longest the whole run may take before it gives up, seconds (<c>--timeout</c>).</summary>
    public double TimeoutSeconds { get; init; } = 900;

    /// <summary>Problems, each naming its flag; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (KillEverySeconds <= 0) errors.Add($"--kill-every must be > 0 (got {KillEverySeconds})");
        if (SigtermAtSeconds < 0) errors.Add($"--sigterm-at must be >= 0 (got {SigtermAtSeconds})");
        if (SiloRestartAtSeconds < 0) errors.Add($"--silo-restart-at must be >= 0 (got {SiloRestartAtSeconds})");
        if (QuietAfterFraction is <= 0 or > 1) errors.Add($"--quiet-after must be in (0, 1] (got {QuietAfterFraction})");
        if (LeaseSeconds is < 1 or > 60) errors.Add($"--lease-seconds must be 1..60 (got {LeaseSeconds})");
        if (TimeoutSeconds <= 0) errors.Add($"--timeout must be > 0 (got {TimeoutSeconds})");
        return errors;
    }
}

/// <summary>
/// <c>gencluster chaos</c>: a local cluster (silo + N trainers) trains one job while trainers are SIGKILLed every
/// <see cref="ChaosOptions.KillEverySeconds"/>, one is SIGTERMed and the silo is SIGKILLed and restarted once. Each
/// trainer that goes is replaced by a fresh process (a new node joining), so the pool stays at N. At the end it prints
/// the target and reached step, the steps lost per recovery and each recovery's time (<see cref="ChaosReport"/>).
/// </summary>
public sealed class ChaosRun(LocalRunOptions local, ChaosOptions chaos, TextWriter output, TimeProvider time)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Runs the job to its end under faults; exit 0 when every goal holds, 1 otherwise.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var runs = Path.GetFullPath(local.RunsDirectory);
        var state = Path.Combine(runs, ".chaos", time.GetUtcNow().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        var trainerAssembly = TrainerExecutable.Locate(local.TrainerPath, AppContext.BaseDirectory);
        var threads = local.ThreadsPerTrainer(Environment.ProcessorCount);
        var data = Path.GetFullPath(local.DataDirectory);
        string[] trainerArguments = ["--heartbeat-seconds", "0.5", "--collective-timeout-seconds", "5", "--overlap", local.Overlap];
        output.WriteLine($"GenCluster chaos: silo + {local.Workers} trainers; SIGKILL a trainer every {chaos.KillEverySeconds:F0} s, " +
                         $"SIGTERM one at {chaos.SigtermAtSeconds:F0} s, silo SIGKILL+restart at {chaos.SiloRestartAtSeconds:F0} s");

        await using var cluster = await LocalCluster.StartSiloAsync(Path.Combine(AppContext.BaseDirectory, "gencluster.dll"), state, runs,
            cancellationToken, chaos.LeaseSeconds);
        for (var i = 0; i < local.Workers; i++) cluster.StartTrainer(trainerAssembly, threads, data, local.GraceSeconds, trainerArguments);
        await WaitForWorkersAsync(cluster, local.Workers, cancellationToken);

        var spec = local.ToJobSpec(runs) with { Name = "chaos", MinWorkers = Math.Max(1, local.Workers - 1), RestartBudget = 100 };
        var job = await cluster.Api.SubmitAsync(spec, cancellationToken);
        output.WriteLine($"job {job.Id}: {spec.Steps} steps, {spec.MinWorkers}..{spec.MaxWorkers} workers, checkpoint every {spec.CheckpointEvery}; logs {cluster.LogDirectory}");

        var random = new Random(chaos.Seed);
        var faults = new List<ChaosFault>();
        var started = time.GetTimestamp();
        var nextKill = chaos.KillEverySeconds;
        var sigtermDone = false;
        var siloDone = false;
        var eventsShown = 0;
        JobStatus status = job;
        string? lastVictim = null;
        while (!status.IsTerminal)
        {
            var elapsed = time.GetElapsedTime(started).TotalSeconds;
            if (elapsed > chaos.TimeoutSeconds) break;
            try
            {
                status = await cluster.Api.GetJobAsync(job.Id, cancellationToken);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(PollInterval, time, cancellationToken);
                continue;
            }
            foreach (var e in status.History.Skip(eventsShown)) output.WriteLine($"  {e.At:HH:mm:ss.f} {e.Kind,-12} {e.Message}");
            eventsShown = status.History.Count;

            var quiet = (status.Progress?.Step ?? 0) >= chaos.QuietAfterFraction * spec.Steps || status.IsTerminal;
            if (!quiet && status.State == JobState.Running)
            {
                if (!siloDone && elapsed >= chaos.SiloRestartAtSeconds)
                {
                    siloDone = true;
                    var down = time.GetTimestamp();
                    output.WriteLine($"chaos t={elapsed:F1}s: SIGKILL silo (pid {cluster.Silo.Pid}), restarting it");
                    await cluster.RestartSiloAsync(cancellationToken);
                    var downtime = time.GetElapsedTime(down).TotalSeconds;
                    faults.Add(new ChaosFault(elapsed, "SIGKILL+restart silo", "silo", $"API back after {downtime:F1} s"));
                    output.WriteLine($"chaos: silo back after {downtime:F1} s");
                    continue;
                }
                if (!sigtermDone && elapsed >= chaos.SigtermAtSeconds && Victim(cluster, status, random, lastVictim) is { } term)
                {
                    sigtermDone = true;
                    output.WriteLine($"chaos t={elapsed:F1}s: SIGTERM {term.Process.Name} ({term.WorkerId})");
                    term.Process.Terminate();
                    faults.Add(new ChaosFault(elapsed, "SIGTERM trainer", $"{term.Process.Name} ({term.WorkerId})"));
                    lastVictim = term.WorkerId;
                    cluster.StartTrainer(trainerAssembly, threads, data, local.GraceSeconds, trainerArguments);
                    continue;
                }
                if (elapsed >= nextKill && Victim(cluster, status, random, lastVictim) is { } kill)
                {
                    nextKill += chaos.KillEverySeconds;
                    output.WriteLine($"chaos t={elapsed:F1}s: SIGKILL {kill.Process.Name} ({kill.WorkerId})");
                    kill.Process.Kill();
                    faults.Add(new ChaosFault(elapsed, "SIGKILL trainer", $"{kill.Process.Name} ({kill.WorkerId})"));
                    lastVictim = kill.WorkerId;
                    cluster.StartTrainer(trainerAssembly, threads, data, local.GraceSeconds, trainerArguments);
                    continue;
                }
            }
            await Task.Delay(PollInterval, time, cancellationToken);
        }

        var journal = StepJournalReader.Read(Path.Combine(status.RunDirectory, StepJournalReader.FileName));
        var report = ChaosReport.From(status, journal, faults);
        output.WriteLine();
        foreach (var line in report.Lines()) output.WriteLine(line);
        return report.MeetsGoals ? 0 : 1;
    }

    /// <summary>A random member of the current round that is still running, other than <paramref name="avoid"/> when possible.</summary>
    private static (ChildProcess Process, string WorkerId)? Victim(LocalCluster cluster, JobStatus status, Random random, string? avoid)
    {
        if (!status.HasActiveRound) return null;
        var members = status.Rounds[^1].Members
            .Select(m => (Index: int.TryParse(m.WorkerId.AsSpan("local-".Length), CultureInfo.InvariantCulture, out var i) ? i : -1, m.WorkerId))
            .Where(m => m.Index >= 0 && m.Index < cluster.Trainers.Count && !cluster.Trainers[m.Index].HasExited)
            .ToList();
        if (members.Count > 1) members.RemoveAll(m => m.WorkerId == avoid);
        if (members.Count == 0) return null;
        var pick = members[random.Next(members.Count)];
        return (cluster.Trainers[pick.Index], pick.WorkerId);
    }

    private async Task WaitForWorkersAsync(LocalCluster cluster, int count, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(90);
        while (true)
        {
            var alive = (await cluster.Api.ListWorkersAsync(cancellationToken)).Count(w => w.Alive);
            if (alive >= count) return;
            if (time.GetUtcNow() > deadline) throw new TimeoutException($"{alive} of {count} trainers registered within 90 s; logs in {cluster.LogDirectory}");
            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }
}
