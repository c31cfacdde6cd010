using GenCluster.Contracts.Jobs;
using GenCluster.Silo.Runs;

namespace GenCluster.Silo.Local;

/// <summary>
/// <c>gencluster local</c>: starts a silo and N trainers, submits one job, shows live progress and job events, and
/// prints where samples, checkpoints, metrics and logs are. Ctrl+C makes every trainer checkpoint and leave.
/// </summary>
public sealed class LocalRun(LocalRunOptions options, TextWriter output, TimeProvider time)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan RedirectedPrintInterval = TimeSpan.FromSeconds(10);

    /// <summary>Runs to the job's end (exit 0 when it succeeded) or until <paramref name="cancellationToken"/> (Ctrl+C).</summary>
    public async Task<int> RunAsync(bool interactive, CancellationToken cancellationToken)
    {
        var runs = Path.GetFullPath(options.RunsDirectory);
        var state = Path.Combine(runs, ".local", time.GetUtcNow().ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
        var trainerAssembly = TrainerExecutable.Locate(options.TrainerPath, AppContext.BaseDirectory);
        var threads = options.ThreadsPerTrainer(Environment.ProcessorCount);
        var bound = options.CpuSlot(0, Environment.ProcessorCount) is null ? "" : " (bound to their own cores)";
        output.WriteLine($"GenCluster local: silo + {options.Workers} trainer(s), {threads} thread(s) each{bound}; {options.Model} on {options.Dataset}, {options.Steps} steps");
        if (options.Evaluate && EvaluationScope.SkipReason(options.Dataset) is { } skipped) output.WriteLine($"evaluation: {skipped}");

        await using var cluster = await LocalCluster.StartSiloAsync(Path.Combine(AppContext.BaseDirectory, "gencluster.dll"), state, runs, cancellationToken);
        for (var i = 0; i < options.Workers; i++)
            cluster.StartTrainer(trainerAssembly, threads, Path.GetFullPath(options.DataDirectory), options.GraceSeconds,
                ["--overlap", options.Overlap, .. options.CpuSlot(i, Environment.ProcessorCount) is { } slot ? (string[])["--cpu-slot", slot] : []]);

        var job = await cluster.Api.SubmitAsync(options.ToJobSpec(runs), cancellationToken);
        output.WriteLine($"job       {job.Id}");
        // The read token rides in the fragment, which the browser keeps to itself (the page moves it to session storage).
        output.WriteLine($"job page  {cluster.ApiAddress}ui/jobs/{job.Id}#token={cluster.Credentials.ReadToken}");
        output.WriteLine($"api       {cluster.ApiAddress}api/jobs/{job.Id}   dashboard {cluster.ApiAddress}dashboard");
        output.WriteLine($"token     {cluster.Credentials.TokenFile}   (admin; e.g. gencluster status --api {cluster.ApiAddress} --token-file <it>)");
        output.WriteLine($"tls       {cluster.Credentials.Tls.Directory}   (this run's CA and certificates: silo and trainers speak mutual TLS)");
        output.WriteLine($"metrics   {cluster.ApiAddress}metrics   trainers: {string.Join("  ", cluster.TrainerMetrics)}");
        output.WriteLine($"logs      {cluster.LogDirectory}");
        var prometheus = LocalPrometheus.Write(LocalCluster.PrometheusDirectory(state), cluster.Credentials.ReadToken);
        output.WriteLine($"prometheus --config.file={prometheus}   (scrapes the silo and every trainer)");

        var final = await WatchAsync(cluster, job.Id, interactive, cancellationToken);
        if (final is null || !final.IsTerminal)
        {
            output.WriteLine();
            output.WriteLine($"Stopping: trainers finish their step, checkpoint and leave (grace {options.GraceSeconds:F0} s) ...");
            await cluster.StopTrainersAsync(TimeSpan.FromSeconds(options.GraceSeconds + 5));
            final = await TryGetAsync(cluster, job.Id) ?? final;
        }
        PrintSummary(final, Path.Combine(runs, job.Id), cluster);
        return final?.State == JobState.Succeeded ? 0 : cancellationToken.IsCancellationRequested ? 130 : 1;
    }

    private async Task<JobStatus?> WatchAsync(LocalCluster cluster, string jobId, bool interactive, CancellationToken cancellationToken)
    {
        var rate = new StepRate(TimeSpan.FromSeconds(30));
        var started = time.GetTimestamp();
        TimeSpan? lastPrinted = null;
        var eventsShown = 0;
        JobStatus? status = null;
        using var timer = new PeriodicTimer(PollInterval, time);
        try
        {
            do
            {
                status = await cluster.Api.GetJobAsync(jobId, cancellationToken);
                var elapsed = time.GetElapsedTime(started);
                var step = status.Progress?.Step ?? 0;
                rate.Observe(elapsed, step);
                var line = ProgressLine.Render(Snapshot(status), rate.StepsPerSecond);

                var newEvents = status.History.Skip(eventsShown).ToList();
                eventsShown = status.History.Count;
                if (interactive)
                {
                    if (newEvents.Count > 0) output.Write("\r\u001b[2K");
                    foreach (var e in newEvents) output.WriteLine($"  {e.At:HH:mm:ss} {e.Kind,-12} {e.Message}");
                    output.Write("\r" + line + "\u001b[K");
                }
                else
                {
                    foreach (var e in newEvents) output.WriteLine($"  {e.At:HH:mm:ss} {e.Kind,-12} {e.Message}");
                    if (lastPrinted is null || elapsed - lastPrinted >= RedirectedPrintInterval || status.IsTerminal)
                    {
                        output.WriteLine(line);
                        lastPrinted = elapsed;
                    }
                }

                if (status.IsTerminal) break;
                var dead = cluster.Trainers.Where(t => t.HasExited).ToList();
                if (dead.Count == cluster.Trainers.Count)
                    throw new InvalidOperationException($"every trainer exited; {dead[0].Name} (exit {dead[0].ExitCode}) printed:{Environment.NewLine}{dead[0].Tail()}");
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        if (interactive) output.WriteLine();
        return status;
    }

    private static ProgressSnapshot Snapshot(JobStatus status)
    {
        var metrics = status.Progress?.Metrics;
        double? Metric(string name) => metrics is not null && metrics.TryGetValue(name, out var v) ? v : null;
        var workers = status.HasActiveRound && status.Rounds.Count > 0 ? status.Rounds[^1].Members.Count : 0;
        return new ProgressSnapshot(status.Progress?.Step ?? 0, status.Spec.Steps, status.Progress?.ImagesPerSecond ?? 0,
            Metric("loss_d"), Metric("loss_g"), status.State.ToString(), workers, ProgressLine.AutoencoderFigures(metrics));
    }

    private static async Task<JobStatus?> TryGetAsync(LocalCluster cluster, string jobId)
    {
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            return await cluster.Api.GetJobAsync(jobId, deadline.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return null;
        }
    }

    private void PrintSummary(JobStatus? status, string runDirectory, LocalCluster cluster)
    {
        output.WriteLine();
        if (status is not null)
        {
            output.WriteLine($"job {status.Id}: {status.State}{(status.Reason is null ? "" : $" ({status.Reason})")} at step {status.Progress?.Step ?? 0}/{status.Spec.Steps}");
            if (status.Recoveries.Count > 0)
            {
                output.WriteLine($"recoveries   {status.Recoveries.Count} (restarts {status.Restarts}, preemptions {status.Preemptions}), " +
                                 $"steps trained again {status.LostSteps}, slowest {status.Recoveries.Max(r => r.Seconds):F1} s");
            }
        }
        var samples = Path.Combine(runDirectory, SampleGrids.Folder);
        var latestSample = SampleGrids.InRun(runDirectory).LastOrDefault()?.Path;
        var checkpoints = Path.Combine(runDirectory, "checkpoints");
        var latestCheckpoint = Directory.Exists(checkpoints)
            ? Directory.GetDirectories(checkpoints, "step-*").Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        output.WriteLine($"samples      {samples}{(latestSample is null ? "" : $"   latest: {Path.GetFileName(latestSample)}")}");
        var lossChart = Path.Combine(samples, "losses.png");
        if (File.Exists(lossChart)) output.WriteLine($"loss curve   {lossChart}");
        output.WriteLine($"checkpoints  {checkpoints}{(latestCheckpoint is null ? "" : $"   latest: {Path.GetFileName(latestCheckpoint)}")}");
        if (status is { Spec.Evaluate: true } && EvaluationScope.SkipReason(status.Spec.Dataset) is { } reason)
            output.WriteLine($"evaluation   {reason}");
        if (status?.Evaluation is { Count: > 0 } e)
        {
            foreach (var line in RunSummary.EvaluationLines(e, runDirectory)) output.WriteLine(line);
        }
        if (latestCheckpoint is not null && status is not null)
            output.WriteLine($"sample more  {RunSummary.SampleCommand(status.Spec.Model, latestCheckpoint)}");
        output.WriteLine($"logs         {cluster.LogDirectory}");
    }
}
