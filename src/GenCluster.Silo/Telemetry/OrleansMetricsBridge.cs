using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace GenCluster.Silo.Telemetry;

/// <summary>
/// Makes Orleans' own meter exportable under Prometheus conventions: Orleans records latencies in milliseconds and
/// memory in megabytes, which Prometheus linting rejects (base units are seconds and bytes). Its millisecond
/// histograms are re-recorded in seconds under the same names on meter <see cref="MeterName"/>; the originals and
/// the megabyte gauges are dropped; instruments without a description get one so every family has HELP text.
/// </summary>
public sealed class OrleansMetricsBridge : IHostedService, IDisposable
{
    /// <summary>Orleans' meter.</summary>
    public const string OrleansMeterName = "Microsoft.Orleans";

    /// <summary>The meter carrying the rescaled Orleans histograms.</summary>
    public const string MeterName = "GenCluster.Orleans";

    /// <summary>Buckets (seconds) of the rescaled latency histograms.</summary>
    public static readonly double[] LatencyBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Meter _meter;
    private readonly MeterListener _listener = new();

    /// <summary>Creates the bridge's meter.</summary>
    public OrleansMetricsBridge(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name != OrleansMeterName || instrument.Unit != "ms" || !IsHistogram(instrument)) return;
            var description = string.IsNullOrEmpty(instrument.Description) ? $"Orleans {instrument.Name}" : instrument.Description;
            listener.EnableMeasurementEvents(instrument, _meter.CreateHistogram<double>(instrument.Name, "s", description));
        };
        _listener.SetMeasurementEventCallback<double>((_, v, tags, state) => ((Histogram<double>)state!).Record(v / 1000, tags));
        _listener.SetMeasurementEventCallback<float>((_, v, tags, state) => ((Histogram<double>)state!).Record(v / 1000.0, tags));
        _listener.SetMeasurementEventCallback<long>((_, v, tags, state) => ((Histogram<double>)state!).Record(v / 1000.0, tags));
        _listener.SetMeasurementEventCallback<int>((_, v, tags, state) => ((Histogram<double>)state!).Record(v / 1000.0, tags));
    }

    /// <summary>The metrics view: drops non-base-unit Orleans instruments, sets buckets and fills in missing HELP.</summary>
    public static MetricStreamConfiguration? View(Instrument instrument)
    {
        if (instrument.Meter.Name == OrleansMeterName && instrument.Unit is "ms" or "MB") return MetricStreamConfiguration.Drop;
        if (instrument.Meter.Name == MeterName)
            return new ExplicitBucketHistogramConfiguration { Boundaries = LatencyBucketsSeconds };
        if (string.IsNullOrEmpty(instrument.Description))
            return new MetricStreamConfiguration { Description = $"{instrument.Meter.Name} {instrument.Name}" };
        return null;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private static bool IsHistogram(Instrument instrument) =>
        instrument.GetType() is { IsGenericType: true } t && t.GetGenericTypeDefinition() == typeof(Histogram<>);
}
