namespace GenCluster.Contracts.Workers;

/// <summary>All trainer processes and their leases. One grain, key <see cref="Key"/>.</summary>
public interface IWorkerRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>The single registry's key.</summary>
    const long Key = 0;

    /// <summary>Registers (or re-registers after a silo restart) a trainer and grants its first lease.</summary>
    Task<HeartbeatReply> Register(WorkerInfo worker);

    /// <summary>Renews the lease, records progress, and returns the desired state.</summary>
    Task<HeartbeatReply> Heartbeat(Heartbeat heartbeat);
}
