using System.Globalization;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Security;
using GenCluster.Silo.Local;
using LocalProcess = GenCluster.Silo.Local.ChildProcess;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>
/// A real silo process and real trainer processes on a small slice of MNIST, tuned so faults are detected quickly:
/// lease 3 s, heartbeat 0.5 s, collective deadline 5 s (by default). Every child is killed on dispose, frozen ones included.
/// </summary>
public sealed class FaultCluster : IDisposable
{
    public const int CheckpointEvery = 5;
    private static readonly string SharedDataDirectory = Path.Combine(Path.GetTempPath(), "gencluster-faults-data");
    private readonly List<LocalProcess> _trainers = [];
    private readonly string _root = Directory.CreateTempSubdirectory("gencluster-faults-").FullName;
    private readonly string _trainerDll = TrainerExecutable.Locate(null, AppContext.BaseDirectory);
    private readonly double _collectiveTimeoutSeconds;

    public FaultCluster(double leaseSeconds = 3, double drainSeconds = 10, double collectiveTimeoutSeconds = 5)
    {
        _collectiveTimeoutSeconds = collectiveTimeoutSeconds;
        Runs = Path.Combine(_root, "runs");
        PrometheusDirectory = Path.Combine(_root, "prometheus");
        Silo = new SiloProcess(Path.Combine(_root, "silo"), "--lease-seconds", leaseSeconds.ToString(CultureInfo.InvariantCulture),
            "--runs-dir", Runs, "--preemption-drain-seconds", drainSeconds.ToString(CultureInfo.InvariantCulture),
            "--prometheus-targets", LocalPrometheus.TargetsDirectory(PrometheusDirectory));
    }

    /// <summary>Where the silo keeps Prometheus' service-discovery targets (<c>targets/</c>), as <c>gencluster local</c> does.</summary>
    public string PrometheusDirectory { get; }

    public SiloProcess Silo { get; }
    public string Runs { get; }
    public IReadOnlyList<LocalProcess> Trainers => _trainers;

    /// <summary>A job on 512 MNIST images, batch 8, width 8, checkpoint every 5 steps.</summary>
    public JobSpec Spec(long steps, int minWorkers, int maxWorkers, int priority = 0, string name = "faults", int restartBudget = 10) => new()
    {
        Name = name,
        DatasetLimit = 512,
        PerWorkerBatch = 8,
        Model = new GenCluster.Contracts.Models.DcganOptions { Width = 8, LatentDim = 16, EmaDecay = 0 },
        Steps = steps,
        MinWorkers = minWorkers,
        MaxWorkers = maxWorkers,
        Priority = priority,
        CheckpointEvery = CheckpointEvery,
        KeepCheckpoints = 3,
        SampleEvery = 0,
        RestartBudget = restartBudget,
        RunsDirectory = Runs,
    };

    /// <summary>Starts the silo, then <paramref name="trainers"/> trainer processes, and waits until all have registered.</summary>
    public async Task StartAsync(int trainers)
    {
        await Silo.StartAsync();
        for (var i = 0; i < trainers; i++) StartTrainer();
        await WaitForWorkersAsync(trainers, TimeSpan.FromSeconds(60));
    }

    /// <summary>Waits until <paramref name="count"/> workers hold a lease.</summary>
    public async Task WaitForWorkersAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var alive = 0;
        while (DateTime.UtcNow < deadline)
        {
            alive = (await Silo.Api.ListWorkersAsync()).Count(w => w.Alive);
            if (alive >= count) return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"{alive} of {count} trainers registered within {timeout.TotalSeconds:F0} s\n{Logs()}");
    }

    public LocalProcess StartTrainer()
    {
        var index = _trainers.Count;
        var ports = GenCluster.Silo.Local.FreePorts.Take(2);
        var trainer = LocalProcess.Start($"trainer-{index}", _trainerDll,
        [
            "run", "--worker-id", $"faults-{index}", "--ring-port", $"{ports[0]}", "--metrics-port", $"{ports[1]}",
            "--gateway-port", $"{Silo.GatewayPort}", "--threads", "1", "--data-dir", SharedDataDirectory,
            "--heartbeat-seconds", "0.5", "--grace-seconds", "20",
            // Every fault here happens with gradient buckets in flight during backward, the riskiest path.
            "--overlap", "on",
            "--collective-timeout-seconds", _collectiveTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
            .. Silo.Credentials.Tls.Arguments(CertificateRole.Trainer),
        ], Path.Combine(_root, "logs", $"trainer-{index}.log"));
        _trainers.Add(trainer);
        return trainer;
    }

    /// <summary>The trainer (by worker id <c>faults-N</c>) holding <paramref name="rank"/> in the job's current round.</summary>
    public LocalProcess TrainerWithRank(JobStatus status, int rank)
    {
        var worker = status.Rounds[^1].Members.Single(m => m.Rank == rank).WorkerId;
        return _trainers[int.Parse(worker["faults-".Length..], CultureInfo.InvariantCulture)];
    }

    /// <summary>
    /// The common start of the single-fault tests: three trainers and a 100-step job on 2..3 of them, returned once it
    /// runs on all three past step 8.
    /// </summary>
    public async Task<(JobSpec Spec, string JobId, JobStatus Running)> StartJobOnThreeTrainersAsync()
    {
        await StartAsync(trainers: 3);
        var spec = Spec(steps: 100, minWorkers: 2, maxWorkers: 3);
        var job = await Silo.Api.SubmitAsync(spec);
        var running = await WaitForAsync(job.Id,
            s => s.State == JobState.Running && s.Rounds[^1].Members.Count == 3 && s.Progress?.Step >= 8,
            TimeSpan.FromSeconds(60), "running on 3 trainers past step 8");
        return (spec, job.Id, running);
    }

    /// <summary>Polls the job until <paramref name="done"/> holds; the timeout message carries the history and trainer logs.</summary>
    public async Task<JobStatus> WaitForAsync(string jobId, Func<JobStatus, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        JobStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await Silo.Api.GetJobAsync(jobId);
                if (done(last)) return last;
                if (last.IsTerminal) break;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or GenCluster.Silo.Api.GenClusterApiException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"job {jobId}: not {what} within {timeout.TotalSeconds:F0} s; state {last?.State}, " +
                                   $"step {last?.Progress?.Step}\n{Describe(last)}\n{Logs()}");
    }

    public static string Describe(JobStatus? status) =>
        status is null ? "no status" : string.Join("\n", status.History.Select(e => $"  {e.At:HH:mm:ss.fff} {e.Kind} {e.Message}"));

    public string Logs()
    {
        var dir = Path.Combine(_root, "logs");
        if (!Directory.Exists(dir)) return "";
        return string.Join("\n", Directory.GetFiles(dir).Order(StringComparer.Ordinal).Select(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var lines = new StreamReader(stream).ReadToEnd().Split('\n');
            return $"--- {Path.GetFileName(f)}\n{string.Join("\n", lines.TakeLast(25))}";
        })) + $"\n--- silo\n{string.Join("\n", Silo.Output.Split('\n').TakeLast(25))}";
    }

    public StepHistory History(JobStatus status) => StepHistory.Read(Path.Combine(status.RunDirectory, "steps.csv"));

    public void Dispose()
    {
        foreach (var trainer in _trainers)
        {
            try
            {
                trainer.Kill();
                trainer.WaitForExitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
                trainer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            catch (InvalidOperationException)
            {
            }
        }
        Silo.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
