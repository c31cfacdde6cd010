using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace GenCluster.Trainer.Tests;

public class TrainerInstrumentsTests
{
    [Fact]
    public void EverySeriesCarriesTheRoundsLabelsAndANewRoundRetiresTheOldSeries()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var instruments = new TrainerInstruments(services.GetRequiredService<IMeterFactory>());
        var seen = new List<(string Instrument, double Value, Dictionary<string, string?> Tags)>();
        var completed = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TrainerInstruments.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.MeasurementsCompleted = (instrument, _) => completed.Add($"{instrument.Name}");
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => seen.Add((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString()))));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => seen.Add((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString()))));
        listener.Start();

        instruments.BeginRound("job-1", 3, 1, "gpu-7");
        instruments.StepCompleted(0.2, 0.15, 320, [new("loss_d", 0.5)]);
        instruments.AllReduced(0.01, 1_000_000, 4);
        instruments.OptimizerStateHeld(123_456);

        var expected = new Dictionary<string, string?> { ["job_id"] = "job-1", ["round"] = "3", ["rank"] = "1", ["host"] = "gpu-7" };
        Assert.All(seen, m => Assert.All(expected, e => Assert.Equal(e.Value, m.Tags[e.Key])));
        Assert.Contains(seen, m => m.Instrument == "gencluster_trainer_metric" && m.Tags["name"] == "loss_d" && m.Value == 0.5);
        Assert.Contains(seen, m => m.Instrument == "gencluster_trainer_compute_seconds" && m.Value == 0.15);
        Assert.Contains(seen, m => m.Instrument == "gencluster_trainer_optimizer_bytes" && m.Value == 123_456);
        // busbw: 1 MB × 2·3/4 in 10 ms.
        Assert.Contains(seen, m => m.Instrument == "gencluster_trainer_busbw_bytes_per_second" && Math.Abs(m.Value - 1.5e8) < 1e-3);

        seen.Clear();
        instruments.BeginRound("job-1", 4, 0, "gpu-7");
        Assert.Contains("gencluster_trainer_step_seconds", completed);
        instruments.StepCompleted(0.2, 0.15, 320, []);
        Assert.All(seen, m => Assert.Equal(("4", "0"), (m.Tags["round"], m.Tags["rank"])));
        Assert.NotEmpty(seen);
    }

    [Fact]
    public void BusBandwidthIsNcclsRingFormula()
    {
        Assert.Equal(1e9, TrainerInstruments.BusBandwidth(1_000_000_000, 1, 2), 6);
        Assert.Equal(1.75e9, TrainerInstruments.BusBandwidth(1_000_000_000, 1, 8), 6);
    }
}
