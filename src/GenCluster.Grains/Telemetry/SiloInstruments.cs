using System.Diagnostics.Metrics;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Grains.Telemetry;

/// <summary>Snapshot of the cluster for the observable gauges.</summary>
/// <param name="JobsByState">Number of jobs in each state.</param>
/// <param name="WorkersAlive">Workers whose lease holds.</param>
[GenerateSerializer, Immutable]
public sealed record ClusterSummary(
    [property: Id(0)] IReadOnlyDictionary<JobState, int> JobsByState,
    [property: Id(1)] int WorkersAlive);

/// <summary>The control plane's Meter instruments (meter <see cref="MeterName"/>).</summary>
public sealed class SiloInstruments : IDisposable
{
    /// <summary>Meter name to enable in the metrics pipeline.</summary>
    public const string MeterName = "GenCluster.Silo";

    private readonly Meter _meter;
    private readonly Counter<long> _roundsFormed;
    private readonly Counter<long> _restarts;
    private readonly Counter<long> _leaseExpiries;
    private readonly Counter<long> _preemptions;
    private readonly Counter<long> _lostSteps;
    private readonly Histogram<double> _recoverySeconds;
    private volatile ClusterSummary _summary = new(new Dictionary<JobState, int>(), 0);
    private volatile IReadOnlyList<JobFigures> _jobs = [];

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>.</summary>
    public SiloInstruments(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _roundsFormed = _meter.CreateCounter<long>("gencluster.rounds_formed", description: "Rendezvous rounds formed.");
        _restarts = _meter.CreateCounter<long>("gencluster.restarts", description: "Rounds ended by a failure (restart budget).");
        _leaseExpiries = _meter.CreateCounter<long>("gencluster.lease_expiries", description: "Worker leases that ran out.");
        _preemptions = _meter.CreateCounter<long>("gencluster.preemptions", description: "Rounds ended by a preemption (SIGTERM or scheduler).");
        _lostSteps = _meter.CreateCounter<long>("gencluster.lost_steps", description: "Steps trained again after rounds ended early (last reported step minus the resume checkpoint).");
        _recoverySeconds = _meter.CreateHistogram("gencluster.recovery_seconds", unit: "s",
            description: "From a round ending early to the next round running.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300] });
        // Zero samples so every family is exported from the start, not only after its first event.
        _roundsFormed.Add(0);
        _restarts.Add(0);
        _leaseExpiries.Add(0);
        _preemptions.Add(0);
        _lostSteps.Add(0);
        _meter.CreateObservableGauge("gencluster.jobs", ObserveJobs, description: "Jobs by state.");
        _meter.CreateObservableGauge("gencluster.workers_alive", () => _summary.WorkersAlive, description: "Workers whose lease holds.");
        JobGauge("gencluster.job_step", j => j.Step, "Rank 0's latest step, per job.");
        JobGauge("gencluster.job_target_steps", j => j.TargetSteps, "Steps the job trains to.");
        JobGauge("gencluster.job_running", j => j.Running ? 1 : 0, "1 while the job's state is Running, else 0.");
        JobGauge("gencluster.job_goodput_ratio", j => j.Goodput,
            "Share of the job's wall time spent on steps that count: not re-run after a failure, not waiting for a round, not checkpointing.");
        JobGauge("gencluster.job_restarts", j => j.Restarts, "Restarts after failures so far, per job.");
        JobGauge("gencluster.job_restart_budget", j => j.RestartBudget, "Restarts the job may use before it fails.");
        JobGauge("gencluster.job_steps_since_checkpoint", j => j.StepsSinceCheckpoint, "Steps since the job's latest durable checkpoint.");
        JobGauge("gencluster.job_checkpoint_every_steps", j => j.CheckpointEvery, "The job's checkpoint cadence in steps (0 = only at the end).");
        RankGauge("gencluster.rank_compute_seconds", r => r.ComputeSeconds, "A rank's own work per step before its collectives (mean of its recent steps).");
        RankGauge("gencluster.rank_straggler_score", r => r.StragglerScore, "A rank's compute time over the median of the other ranks' (1 = typical).");
    }

    /// <summary>A round was formed.</summary>
    public void RoundFormed() => _roundsFormed.Add(1);

    /// <summary>A round ended by a failure.</summary>
    public void Restarted() => _restarts.Add(1);

    /// <summary>A worker lease expired.</summary>
    public void LeaseExpired() => _leaseExpiries.Add(1);

    /// <summary>A round ended by a preemption.</summary>
    public void Preempted() => _preemptions.Add(1);

    /// <summary>A job recovered: the next round runs <paramref name="seconds"/> after the early end, with <paramref name="lostSteps"/> to train again.</summary>
    public void Recovered(double seconds, long lostSteps)
    {
        _recoverySeconds.Record(seconds);
        _lostSteps.Add(lostSteps);
    }

    /// <summary>Replaces the snapshot the gauges report.</summary>
    public void Publish(ClusterSummary summary) => _summary = summary;

    /// <summary>Replaces the per-job figures the job and rank gauges report.</summary>
    public void Publish(IReadOnlyList<JobFigures> jobs) => _jobs = jobs;

    private void JobGauge(string name, Func<JobFigures, double> value, string description) =>
        _meter.CreateObservableGauge(name, () => _jobs
            .Where(j => double.IsFinite(value(j)))
            .Select(j => new Measurement<double>(value(j), new KeyValuePair<string, object?>("job_id", j.JobId))), description: description);

    private void RankGauge(string name, Func<RankTiming, double> value, string description) =>
        _meter.CreateObservableGauge(name, () => _jobs
            .SelectMany(j => j.Ranks.Select(r => (j.JobId, Rank: r)))
            .Where(x => double.IsFinite(value(x.Rank)))
            .Select(x => new Measurement<double>(value(x.Rank),
                new KeyValuePair<string, object?>("job_id", x.JobId),
                new KeyValuePair<string, object?>("rank", x.Rank.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new KeyValuePair<string, object?>("host", x.Rank.Host))), description: description);

    private IEnumerable<Measurement<int>> ObserveJobs()
    {
        var counts = _summary.JobsByState;
        foreach (var state in Enum.GetValues<JobState>())
        {
            yield return new Measurement<int>(counts.TryGetValue(state, out var n) ? n : 0,
                new KeyValuePair<string, object?>("state", state.ToString().ToLowerInvariant()));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
