namespace GenCluster.Contracts.Jobs;

/// <summary>One rank's own work per step in the current round, and how it compares with the others.</summary>
/// <param name="Rank">Its rank.</param>
/// <param name="WorkerId">The trainer holding it.</param>
/// <param name="Host">The trainer's host.</param>
/// <param name="ComputeSeconds">Seconds per step before its collectives (mean of its recent steps), as it last reported.</param>
/// <param name="StragglerScore">Its compute time over the median of the other ranks' (1 = typical; NaN until every rank reported).</param>
[GenerateSerializer, Immutable]
public sealed record RankTiming(
    [property: Id(0)] int Rank,
    [property: Id(1)] string WorkerId,
    [property: Id(2)] string Host,
    [property: Id(3)] double ComputeSeconds,
    [property: Id(4)] double StragglerScore)
{
    /// <summary>Every rank's progress metric: its compute seconds per step (mean of its recent steps).</summary>
    public const string ComputeSecondsMetric = "compute_seconds";
}
