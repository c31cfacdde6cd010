using GenCluster.Contracts.Jobs;

namespace GenCluster.Grains.Jobs;

/// <summary>
/// Who to blame when a round fails. A rank that reports a failure names the neighbour it was blocked on, which is not
/// always the one that failed: when a host's link goes down, the ranks around it time out on whichever peer their
/// flow control happened to stall on. The failed host, though, has also stopped heartbeating, so the members whose
/// last heartbeat is older than a silence threshold (well past a heartbeat interval, well short of the lease) are the
/// likely culprits, and the round's failure names them first.
/// </summary>
public static class SilentMembers
{
    /// <summary>Members with no heartbeat for longer than <paramref name="silence"/> at <paramref name="now"/>, by rank.</summary>
    /// <param name="lastHeartbeat">Last heartbeat per worker id; a member missing here is not judged (nothing is known of it).</param>
    public static IReadOnlyList<(RoundMember Member, TimeSpan Silent)> Find(
        IEnumerable<RoundMember> members, IReadOnlyDictionary<string, DateTimeOffset> lastHeartbeat, DateTimeOffset now, TimeSpan silence)
    {
        var found = new List<(RoundMember, TimeSpan)>();
        foreach (var member in members.OrderBy(m => m.Rank))
        {
            if (lastHeartbeat.TryGetValue(member.WorkerId, out var at) && now - at > silence) found.Add((member, now - at));
        }

        return found;
    }

    /// <summary>
    /// The failure's description: the silent members first (rank, worker, host and for how long), then the reporter's
    /// own account; just the account when nobody is silent.
    /// </summary>
    public static string Describe(IReadOnlyList<(RoundMember Member, TimeSpan Silent)> silent, string report)
    {
        if (silent.Count == 0) return report;
        var names = silent.Select(s => $"rank {s.Member.Rank} (worker {s.Member.WorkerId} on host {s.Member.Host}, no heartbeat for {s.Silent.TotalSeconds:F1} s)");
        return $"{string.Join(", ", names)} went silent; {report}";
    }

    /// <summary>The threshold for a lease of <paramref name="lease"/>: a third of it, at least 2 s (trainers heartbeat every second by default).</summary>
    public static TimeSpan Threshold(TimeSpan lease) => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(2).Ticks, lease.Ticks / 3));
}
