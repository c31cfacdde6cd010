namespace GenCluster.Contracts.Workers;

/// <summary>
/// The values of a trainer's gradient-overlap setting (<c>Trainer:OverlapBackward</c>, <c>--overlap</c> on the trainer,
/// <c>gencluster local</c> and <c>chaos</c>): <c>auto</c>, <c>on</c> or <c>off</c>. The trainer decides what <c>auto</c> means.
/// </summary>
public static class OverlapModes
{
    /// <summary><c>auto</c>, <c>on</c>, <c>off</c>.</summary>
    public static readonly IReadOnlyList<string> All = ["auto", "on", "off"];
}
