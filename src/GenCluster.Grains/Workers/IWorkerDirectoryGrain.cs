using GenCluster.Contracts.Workers;

namespace GenCluster.Grains.Workers;

/// <summary>The registry's operator side: listing workers and checking leases.</summary>
public interface IWorkerDirectoryGrain : IWorkerRegistryGrain
{
    /// <summary>Every worker ever registered with its lease and assignment.</summary>
    Task<IReadOnlyList<WorkerStatus>> GetWorkers();

    /// <summary>Expires leases that ran out now; returns how many did.</summary>
    Task<int> CheckLeases();
}
