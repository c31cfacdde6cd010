using GenCluster.Trainer.Hosting;

namespace GenCluster.Trainer.Tests.Hosting;

public class CpuAffinityTests
{
    /// <summary>
    /// Binding reaches every thread the process has (as the kernel reports each in <c>/proc/self/task/*/status</c>) and
    /// threads started afterwards; binding to the whole set again undoes it. Brief, because it holds the test process on
    /// one core.
    /// </summary>
    [Fact]
    public void BindingReachesEveryThreadAndThoseStartedLaterAndCanBeUndone()
    {
        Assert.True(CpuAffinity.Supported, "CPU binding is Linux-only and this test needs it");
        var all = CpuAffinity.Allowed();
        Assert.NotEmpty(all);
        var one = all[^1];
        try
        {
            var bound = CpuAffinity.BindProcess([one]);
            Assert.True(bound >= 2, $"bound only {bound} thread(s)");
            var later = -1;
            var thread = new Thread(() => later = CpuAffinity.Allowed().Single());
            thread.Start();
            thread.Join();
            Assert.Equal(one, later);
            Assert.All(AllowedListPerThread(), a => Assert.Equal(one.ToString(System.Globalization.CultureInfo.InvariantCulture), a.List));
        }
        finally
        {
            CpuAffinity.BindProcess(all);
        }
        Assert.Equal(all, CpuAffinity.Allowed());
    }

    [Fact]
    public void AnEmptyOrImpossibleSetIsRefusedBeforeAnyThreadIsTouched()
    {
        var before = CpuAffinity.Allowed();
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => CpuAffinity.BindProcess([])).Message);
        Assert.Contains("cpu 5000", Assert.Throws<ArgumentException>(() => CpuAffinity.BindProcess([0, 5000])).Message);
        Assert.Equal(before, CpuAffinity.Allowed());
    }

    private static IEnumerable<(string Tid, string List)> AllowedListPerThread()
    {
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(Path.Combine(task, "status"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }
            var line = lines.FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            if (line is not null) yield return (Path.GetFileName(task), line["Cpus_allowed_list:".Length..].Trim());
        }
    }
}
