using GenCluster.Contracts.Workers;

namespace GenCluster.Grains.Jobs;

/// <summary>
/// Topology-aware rank order. A ring all-reduce moves the same bytes over every link of the ring, so its time is set by
/// the slowest link: with the ranks of each host adjacent, only as many links cross hosts as there are hosts (none with
/// one host), instead of up to one per rank when the hosts' workers arrive interleaved. Ranks are given in this order.
/// </summary>
public static class RingOrder
{
    /// <summary>
    /// <paramref name="members"/> grouped by host, hosts in the order of their first member, each host's members in
    /// their given order. A list whose hosts are already contiguous comes back unchanged.
    /// </summary>
    public static IReadOnlyList<WorkerInfo> Arrange(IReadOnlyList<WorkerInfo> members) =>
        members.GroupBy(m => m.Host, StringComparer.Ordinal).SelectMany(host => host).ToList();

    /// <summary>Links of the ring (rank i to rank i + 1 mod n) whose two ends are on different hosts.</summary>
    public static int CrossHostLinks(IReadOnlyList<string> hostsByRank) =>
        hostsByRank.Count < 2 ? 0 : Enumerable.Range(0, hostsByRank.Count).Count(i => hostsByRank[i] != hostsByRank[(i + 1) % hostsByRank.Count]);
}
