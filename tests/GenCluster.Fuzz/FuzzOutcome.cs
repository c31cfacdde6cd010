namespace GenCluster.Fuzz;

/// <summary>What a fuzz target made of one input.</summary>
internal enum FuzzOutcome
{
    /// <summary>The parser took the input as well-formed.</summary>
    Accepted,

    /// <summary>The parser refused the input with one of its documented errors.</summary>
    Rejected,
}
