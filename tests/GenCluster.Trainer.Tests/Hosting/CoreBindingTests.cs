using GenCluster.Trainer.Hosting;
using GenCluster.Trainer.Training;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Tests.Hosting;

public class CoreBindingTests
{
    private static CoreBinding For(string? slot) =>
        new(Options.Create(new TrainingEngineOptions { CpuSlot = slot }), NullLogger<CoreBinding>.Instance);

    [Fact]
    public void WithoutASlotNothingIsBound()
    {
        var before = CpuAffinity.Allowed();
        var binding = For(null);
        binding.Apply();
        using (binding.Widen()) Assert.Equal(before, CpuAffinity.Allowed());
        Assert.Equal(before, CpuAffinity.Allowed());
        Assert.Null(binding.Own);
    }

    /// <summary>
    /// The last slot binds to the last block of the cores; widening gives every core back while the scope lasts, and
    /// its end binds again. Brief, because it holds the test process on part of the machine.
    /// </summary>
    [Fact]
    public void ASlotBindsItsBlockAndWideningGivesEveryCoreBackForItsScope()
    {
        var all = CpuAffinity.Allowed();
        var slots = Math.Min(2, all.Count);
        var binding = For($"{slots - 1}/{slots}");
        try
        {
            binding.Apply();
            Assert.Equal(binding.Own, CpuAffinity.Allowed());
            Assert.Equal(all.Skip((slots - 1) * (all.Count / slots)).Take(all.Count / slots), binding.Own!);
            var widened = binding.Widen();
            Assert.Equal(all, CpuAffinity.Allowed());
            widened.Dispose();
            widened.Dispose(); // once only
            Assert.Equal(binding.Own, CpuAffinity.Allowed());
        }
        finally
        {
            CpuAffinity.BindProcess(all);
        }
    }
}
