using GenCluster.Trainer.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Tests.Training;

public class TrainingEngineOptionsTests
{
    private static IServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddGenClusterTrainingEngine().BuildServiceProvider();
    }

    [Fact]
    public void BindsFromTheTrainerSection()
    {
        var options = Build(new() { ["Trainer:Threads"] = "2", ["Trainer:Device"] = "cuda:1", ["Trainer:DataDirectory"] = "/data" })
            .GetRequiredService<IOptions<TrainingEngineOptions>>().Value;

        Assert.Equal((2, "cuda:1", "/data"), (options.Threads, options.Device, options.DataDirectory));
        Assert.Equal(0, options.BucketBytes); // automatic
        Assert.Equal("auto", options.OverlapBackward);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("100")]
    public void ABucketSizeIsAutomaticOrAtLeast4KiB(string bytes)
    {
        var provider = Build(new() { ["Trainer:BucketBytes"] = bytes });
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TrainingEngineOptions>>().Value);
        Assert.Contains(ex.Failures, f => f.Contains("Trainer:BucketBytes") && f.Contains(bytes));
        var off = Build(new() { ["Trainer:OverlapBackward"] = "off", ["Trainer:BucketBytes"] = "4096" })
            .GetRequiredService<IOptions<TrainingEngineOptions>>().Value;
        Assert.Equal(("off", 4096L), (off.OverlapBackward, off.BucketBytes));
        var bad = Build(new() { ["Trainer:OverlapBackward"] = "sometimes" });
        var error = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<TrainingEngineOptions>>().Value);
        Assert.Contains(error.Failures, f => f.Contains("Trainer:OverlapBackward") && f.Contains("'sometimes'") && f.Contains("auto, on, off"));
    }

    [Fact]
    public void InvalidValuesNameTheirKeys()
    {
        var provider = Build(new() { ["Trainer:Threads"] = "-1", ["Trainer:Device"] = "gpu", ["Trainer:MaxConsecutiveSkips"] = "0" });

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TrainingEngineOptions>>().Value);

        Assert.Contains(ex.Failures, f => f.Contains("Trainer:Threads") && f.Contains("-1"));
        Assert.Contains(ex.Failures, f => f.Contains("Trainer:Device") && f.Contains("'gpu'"));
        Assert.Contains(ex.Failures, f => f.Contains("Trainer:MaxConsecutiveSkips"));
        Assert.NotNull(provider.GetRequiredService<TrainerInstruments>());
    }

    [Theory]
    [InlineData("2/2")]
    [InlineData("1")]
    [InlineData("-1/2")]
    [InlineData("a/b")]
    [InlineData("0/0")]
    public void ACpuSlotIsIOfNAndAnythingElseIsRefusedByName(string slot)
    {
        var provider = Build(new() { ["Trainer:CpuSlot"] = slot });
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TrainingEngineOptions>>().Value);
        Assert.Contains(ex.Failures, f => f.Contains("Trainer:CpuSlot") && f.Contains($"'{slot}'") && f.Contains("0 <= i < n"));
        Assert.Equal("1/2", Build(new() { ["Trainer:CpuSlot"] = "1/2" }).GetRequiredService<IOptions<TrainingEngineOptions>>().Value.CpuSlot);
        Assert.Null(Build([]).GetRequiredService<IOptions<TrainingEngineOptions>>().Value.CpuSlot);
    }
}
