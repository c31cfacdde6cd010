using System.Diagnostics.Metrics;

namespace GenCluster.Trainer.Distributed;

/// <summary>Meter instruments of the ring data plane.</summary>
public sealed class RingInstruments
{
    /// <summary>Name of the meter, for OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "GenCluster.Trainer.Ring";

    private static readonly double[] SecondsBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    public RingInstruments(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        AllReduceSeconds = Meter.CreateHistogram<double>(
            "gencluster_ring_allreduce_seconds", unit: "s", description: "Duration of one ring all-reduce.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        ShardCollectiveSeconds = Meter.CreateHistogram<double>(
            "gencluster_ring_shard_collective_seconds", unit: "s",
            description: "Duration of one ring reduce-scatter or all-gather of a buffer (label collective), the halves of an all-reduce that sharded optimiser state runs apart.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        SentBytes = Meter.CreateCounter<long>(
            "gencluster_ring_sent_bytes_total", unit: "By", description: "Payload bytes sent to the ring successor.");
        RejectedFrames = Meter.CreateCounter<long>(
            "gencluster_ring_rejected_frames_total", description: "Ring connections, streams or frames refused (failed handshake, wrong job, stale round).");
        Connections = Meter.CreateCounter<long>(
            "gencluster_ring_connections_total",
            description: "Ring connections this trainer opened to its successor, by transport (unix: the successor's Unix domain socket on this host; tcp).");
    }

    /// <summary>The meter owning the instruments.</summary>
    public Meter Meter { get; }

    /// <summary>Seconds per all-reduce.</summary>
    public Histogram<double> AllReduceSeconds { get; }

    /// <summary>Seconds per reduce-scatter or all-gather, tagged with <c>collective</c>.</summary>
    public Histogram<double> ShardCollectiveSeconds { get; }

    /// <summary>Payload bytes sent.</summary>
    public Counter<long> SentBytes { get; }

    /// <summary>Rejected connections (handshake), streams and frames, tagged with <c>reason</c>.</summary>
    public Counter<long> RejectedFrames { get; }

    /// <summary>Connections opened to the successor, tagged with <c>transport</c> (<c>unix</c> or <c>tcp</c>).</summary>
    public Counter<long> Connections { get; }
}
