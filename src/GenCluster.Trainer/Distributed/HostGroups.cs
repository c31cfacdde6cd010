namespace GenCluster.Trainer.Distributed;

/// <summary>
/// The ranks of a round grouped by host: ranks that advertise the same IP address share a host. Groups come in the order
/// of their first rank, ranks in a group in rank order, and each group's lowest rank leads it. A round whose hosts hold
/// several ranks each all-reduces in two levels (<see cref="HierarchicalAllReduce"/>): within each host through shared
/// memory, and across hosts over a ring of the leaders only, so each host's link carries one host's sum instead of
/// every rank's traffic.
/// </summary>
/// <remarks>An endpoint whose host is a name rather than an IP address is a host of its own: a name may resolve differently on each host.</remarks>
public sealed class HostGroups
{
    private readonly int[] _groupOf;

    private HostGroups(IReadOnlyList<IReadOnlyList<int>> groups, int[] groupOf)
    {
        Groups = groups;
        _groupOf = groupOf;
    }

    /// <summary>The ranks on each host.</summary>
    public IReadOnlyList<IReadOnlyList<int>> Groups { get; }

    /// <summary>The lowest rank of each group, in group order: the ranks of the ring across hosts.</summary>
    public IReadOnlyList<int> Leaders => [.. Groups.Select(g => g[0])];

    /// <summary>Whether every rank is on one host.</summary>
    public bool OneHost => Groups.Count == 1;

    /// <summary>Whether a two-level all-reduce pays: more than one host, and some host with more than one rank.</summary>
    public bool Hierarchical => Groups.Count > 1 && Groups.Any(g => g.Count > 1);

    /// <summary>Whether sharing memory is worth trying: several ranks, all on one host or some sharing one of several hosts.</summary>
    public bool SharingWorthwhile => _groupOf.Length > 1 && (OneHost || Hierarchical);

    /// <summary>Groups the endpoints of a round (indexed by rank) by the IP address they advertise.</summary>
    public static HostGroups Of(IReadOnlyList<string> peers)
    {
        ArgumentNullException.ThrowIfNull(peers);
        var addresses = peers.Select(RingPeerAddress.Parse).ToList();
        var groups = new List<List<int>>();
        var groupOf = new int[peers.Count];
        for (var rank = 0; rank < peers.Count; rank++)
        {
            var group = groups.FindIndex(g => addresses[g[0]].HasSameAddressAs(addresses[rank]));
            if (group < 0)
            {
                group = groups.Count;
                groups.Add([]);
            }

            groups[group].Add(rank);
            groupOf[rank] = group;
        }

        return new HostGroups([.. groups.Select(g => (IReadOnlyList<int>)g)], groupOf);
    }

    /// <summary>Whether every host holds the same number of ranks (then each carries a share across hosts: <see cref="Lane"/>).</summary>
    public bool Uniform => Groups.All(g => g.Count == Groups[0].Count);

    /// <summary>
    /// The ranks of lane <paramref name="index"/>: the <paramref name="index"/>-th rank of every host, in group order (lane 0
    /// holds the leaders). Each lane is one ring across the hosts.
    /// </summary>
    public IReadOnlyList<int> Lane(int index) => [.. Groups.Select(g => g[index])];

    /// <summary>The group of <paramref name="rank"/>.</summary>
    public int GroupOf(int rank) => _groupOf[rank];

    /// <summary>The ranks on <paramref name="rank"/>'s host (itself included).</summary>
    public IReadOnlyList<int> HostOf(int rank) => Groups[_groupOf[rank]];

    /// <summary><paramref name="rank"/>'s index among the ranks on its host (0 for the leader).</summary>
    public int LocalIndexOf(int rank) => IndexOf(HostOf(rank), rank);

    /// <summary>Whether <paramref name="rank"/> leads its host.</summary>
    public bool IsLeader(int rank) => HostOf(rank)[0] == rank;

    private static int IndexOf(IReadOnlyList<int> ranks, int rank)
    {
        for (var i = 0; i < ranks.Count; i++)
        {
            if (ranks[i] == rank)
            {
                return i;
            }
        }

        return -1;
    }
}
