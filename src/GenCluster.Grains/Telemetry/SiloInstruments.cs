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
