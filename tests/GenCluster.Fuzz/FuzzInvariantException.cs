namespace GenCluster.Fuzz;

/// <summary>
/// A fuzz target's own check failed on an input its parser accepted (an encoder and decoder that disagree, a stage
/// plan with a gap): a bug, reported to afl-fuzz as a crash like any unexpected exception.
/// </summary>
internal sealed class FuzzInvariantException(string message) : Exception(message);
