namespace GenCluster.Fuzz;

/// <summary>
/// One parser under fuzzing: runs one input through the code the product runs on bytes it does not trust.
/// </summary>
/// <remarks>
/// A target catches only the failures its parser documents for bad input and reports them as
/// <see cref="FuzzOutcome.Rejected"/>; any other exception escapes, and afl-fuzz records it as a crash. A target that
/// never returns is a hang.
/// </remarks>
internal interface IFuzzTarget
{
    /// <summary>Runs <paramref name="input"/>; throws only for a bug.</summary>
    FuzzOutcome Run(ReadOnlySpan<byte> input);
}
