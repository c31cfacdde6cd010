using GenCluster.Contracts.Workers;

namespace GenCluster.Trainer.Worker;

/// <summary>How a round ended on this rank.</summary>
public enum RoundEnd
{
    /// <summary>Reached the job's target step.</summary>
    Completed,
    /// <summary>Stopped after a checkpoint because it was asked to (SIGTERM or scheduler preemption).</summary>
    CheckpointedAndStopped,
    /// <summary>Broke: a peer failed, a collective timed out, numerical faults persisted.</summary>
    Failed,
    /// <summary>Cancelled by the worker loop (the control plane moved on).</summary>
    Cancelled,
}

/// <summary>The outcome of one round on this rank.</summary>
/// <param name="End">How it ended.</param>
/// <param name="Step">Last completed optimizer step.</param>
/// <param name="Reason">For failures: what broke, naming the rank or file.</param>
public sealed record RoundOutcome(RoundEnd End, long Step, string? Reason = null);

/// <summary>Shared between the worker loop and a running round.</summary>
public sealed class RoundControl : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private TrainingProgress? _progress;

    /// <summary>Ask the round to write a checkpoint at the end of the current step and stop.</summary>
    public void RequestCheckpointAndStop() => _stop.Cancel();

    /// <summary>Whether <see cref="RequestCheckpointAndStop"/> was called.</summary>
    public bool StopAfterCheckpointRequested => _stop.IsCancellationRequested;

    /// <summary>Signalled by <see cref="RequestCheckpointAndStop"/> (not a cancellation of the round: it ends with a checkpoint).</summary>
    public CancellationToken StopRequested => _stop.Token;

    /// <inheritdoc />
    public void Dispose() => _stop.Dispose();

    /// <summary>Latest progress, read by the heartbeat.</summary>
    public TrainingProgress? Progress
    {
        get => Volatile.Read(ref _progress);
        set => Volatile.Write(ref _progress, value);
    }
}

/// <summary>Runs one round of an assignment on this process (ring set-up, resume, training, checkpoints).</summary>
public interface IRoundRunner
{
    /// <summary>Runs until the target step, a stop request, a failure or cancellation; never throws for round failures.</summary>
    Task<RoundOutcome> RunAsync(Assignment assignment, RoundControl control, CancellationToken cancellationToken);
}
