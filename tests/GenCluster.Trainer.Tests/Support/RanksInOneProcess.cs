namespace GenCluster.Trainer.Tests.Support;

/// <summary>
/// Enough thread-pool threads for every rank the tests run in this one process. Ranks that share memory block their
/// thread while they wait for each other, as each trainer process's rank does; with the pool's default minimum (one
/// thread per core) five in-process ranks would wait for the pool to grow before the last one could arrive.
/// </summary>
internal static class RanksInOneProcess
{
#pragma warning disable CA2255 // A test assembly's own start-up, not a library's.
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Initialize()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
    }
#pragma warning restore CA2255
}
