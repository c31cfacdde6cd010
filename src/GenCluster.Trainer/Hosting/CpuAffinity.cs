using System.Runtime.InteropServices;

namespace GenCluster.Trainer.Hosting;

/// <summary>
/// The process's CPU affinity on Linux (<c>sched_getaffinity</c>/<c>sched_setaffinity</c>). Binding sets every thread
/// the process has now (<c>/proc/self/task</c>): libtorch's intra-op pool, the ring's threads and the runtime's; threads
/// started later inherit their creator's set.
/// </summary>
internal static partial class CpuAffinity
{
    private const int MaskBytes = 128; // 1,024 CPUs

    /// <summary>Whether this platform can bind (Linux).</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>The CPUs the calling thread may run on, ascending.</summary>
    /// <exception cref="InvalidOperationException">The kernel refused (its errno is named).</exception>
    public static IReadOnlyList<int> Allowed()
    {
        var mask = new byte[MaskBytes];
        if (GetAffinity(0, (nuint)mask.Length, mask) != 0)
            throw new InvalidOperationException($"sched_getaffinity failed: errno {Marshal.GetLastPInvokeError()}");
        return [.. Enumerable.Range(0, mask.Length * 8).Where(cpu => (mask[cpu / 8] & (1 << (cpu % 8))) != 0)];
    }

    /// <summary>Binds every thread of this process to <paramref name="cpus"/>; returns how many threads were bound.</summary>
    /// <exception cref="ArgumentException">A CPU is out of range, or the set is empty.</exception>
    /// <exception cref="InvalidOperationException">The kernel refused for a live thread (its errno is named).</exception>
    public static int BindProcess(IReadOnlyList<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        if (cpus.Count == 0) throw new ArgumentException("cpus must name at least one CPU", nameof(cpus));
        var mask = new byte[MaskBytes];
        foreach (var cpu in cpus)
        {
            if (cpu < 0 || cpu >= MaskBytes * 8) throw new ArgumentException($"cpu {cpu} is outside [0, {MaskBytes * 8 - 1}]", nameof(cpus));
            mask[cpu / 8] |= (byte)(1 << (cpu % 8));
        }
        var bound = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (!int.TryParse(Path.GetFileName(task), out var tid)) continue;
            if (SetAffinity(tid, (nuint)mask.Length, mask) == 0)
            {
                bound++;
                continue;
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Esrch) throw new InvalidOperationException($"sched_setaffinity(thread {tid}, cpus {string.Join(',', cpus)}) failed: errno {errno}");
        }
        return bound;
    }

    private const int Esrch = 3; // the thread ended between listing and binding

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int GetAffinity(int pid, nuint size, [Out] byte[] mask);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SetAffinity(int pid, nuint size, byte[] mask);
}
