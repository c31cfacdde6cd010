using GenCluster.Contracts.Jobs;

namespace GenCluster.Grains.Jobs;

/// <summary>
/// Names the ranks that hold a synchronous round back. Each rank reports its own compute time per step (before its
/// collectives, where it would wait for the slowest); a rank's straggler score is that time over the median of the
/// other ranks' — leave-one-out, so that with two ranks a slow one is compared with the fast one rather than with a
/// median it drags up. A score above the factor makes it a straggler.
/// </summary>
public static class StragglerDetector
{
    /// <summary>Default factor: 1.5× the other ranks' median.</summary>
    public const double DefaultFactor = 1.5;

    /// <summary>
    /// Scores for every member of <paramref name="members"/> given the compute seconds reported so far
    /// (<paramref name="computeSeconds"/> by rank); NaN scores until every member has reported a positive time.
    /// </summary>
    public static IReadOnlyList<RankTiming> Score(IReadOnlyList<RoundMember> members, IReadOnlyDictionary<int, double> computeSeconds)
    {
        var complete = members.Count > 1 && members.All(m => computeSeconds.TryGetValue(m.Rank, out var c) && c > 0);
        return members.Select(m =>
        {
            var own = computeSeconds.TryGetValue(m.Rank, out var c) ? c : double.NaN;
            var score = complete ? own / Median(members.Where(o => o.Rank != m.Rank).Select(o => computeSeconds[o.Rank])) : double.NaN;
            return new RankTiming(m.Rank, m.WorkerId, m.Host, own, score);
        }).ToList();
    }

    /// <summary>The ranks of <paramref name="timings"/> whose score exceeds <paramref name="factor"/>.</summary>
    public static IEnumerable<RankTiming> Stragglers(IEnumerable<RankTiming> timings, double factor) =>
        timings.Where(t => t.StragglerScore > factor);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
