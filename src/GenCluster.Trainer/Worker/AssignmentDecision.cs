using GenCluster.Contracts.Workers;

namespace GenCluster.Trainer.Worker;

/// <summary>Identifies one round of one job.</summary>
public readonly record struct RoundKey(string JobId, long Round)
{
    /// <summary>The key of an assignment.</summary>
    public static RoundKey Of(Assignment assignment) => new(assignment.JobId, assignment.Round);

    /// <inheritdoc />
    public override string ToString() => $"{JobId}/round {Round}";
}

/// <summary>What the worker loop should do after a heartbeat reply.</summary>
public enum AssignmentAction
{
    /// <summary>Keep doing what it does (nothing, or the current round).</summary>
    Keep,
    /// <summary>Start the desired round.</summary>
    Start,
    /// <summary>Stop the current round and stay idle.</summary>
    Stop,
    /// <summary>Stop the current round, then start the desired one.</summary>
    Replace,
}

/// <summary>Compares what runs with what the control plane wants. Pure; the worker loop acts on the result.</summary>
public static class AssignmentDecision
{
    /// <param name="running">The round this process runs now, or null.</param>
    /// <param name="finished">The last round this process ran to an end (completed, failed, left); it is never restarted.</param>
    /// <param name="desired">The assignment from the latest heartbeat reply (null = idle).</param>
    public static AssignmentAction Decide(RoundKey? running, RoundKey? finished, Assignment? desired)
    {
        var wanted = desired is null ? (RoundKey?)null : RoundKey.Of(desired);
        if (wanted is not null && wanted == finished && running is null) return AssignmentAction.Keep;
        return (running, wanted) switch
        {
            (null, null) => AssignmentAction.Keep,
            (null, not null) => AssignmentAction.Start,
            (not null, null) => AssignmentAction.Stop,
            var (r, w) when r == w => AssignmentAction.Keep,
            _ => AssignmentAction.Replace,
        };
    }
}
