using GenCluster.Contracts.Workers;

namespace GenCluster.Grains.Workers;

/// <summary>A registered trainer and its lease, as the registry keeps it.</summary>
[GenerateSerializer]
public sealed record WorkerLease(
    [property: Id(0)] WorkerInfo Info,
    [property: Id(1)] DateTimeOffset ExpiresAt,
    [property: Id(2)] DateTimeOffset LastHeartbeatAt,
    [property: Id(3)] bool Alive);

/// <summary>Lease arithmetic: grants, renewals and expiry, as pure functions of the time.</summary>
public static class LeasePolicy
{
    /// <summary>A lease granted or renewed at <paramref name="now"/>.</summary>
    public static WorkerLease Renew(WorkerInfo info, DateTimeOffset now, TimeSpan lease) => new(info, now + lease, now, true);

    /// <summary>Live leases that have run out at <paramref name="now"/>, oldest expiry first.</summary>
    public static IReadOnlyList<WorkerLease> Expired(IEnumerable<WorkerLease> leases, DateTimeOffset now) =>
        leases.Where(l => l.Alive && l.ExpiresAt <= now).OrderBy(l => l.ExpiresAt).ToList();

    /// <summary>Why a lease ended, naming the worker, its host and the times.</summary>
    public static string ExpiryReason(WorkerLease lease, DateTimeOffset now) =>
        $"lease of worker {lease.Info.WorkerId} on host {lease.Info.Host} expired at {lease.ExpiresAt:O} " +
        $"(last heartbeat {(now - lease.LastHeartbeatAt).TotalSeconds:F1} s ago)";
}
