namespace GenCluster.Trainer.Training;

/// <summary>
/// Every rank skipped <see cref="ConsecutiveSkips"/> steps in a row for NaN/Inf; training stops so the caller rolls
/// back to the last good checkpoint (report it as a round failure).
/// </summary>
public sealed class NumericalFaultException(long step, int consecutiveSkips, string detail)
    : Exception($"step {step}: {consecutiveSkips} consecutive steps skipped for non-finite values ({detail}); roll back to the last good checkpoint")
{
    /// <summary>The last skipped step.</summary>
    public long Step { get; } = step;

    /// <summary>How many steps in a row were skipped.</summary>
    public int ConsecutiveSkips { get; } = consecutiveSkips;
}
