using GenCluster.Contracts.Workers;

namespace GenCluster.Trainer.Worker;

/// <summary>The trainer's view of the control plane: registration, heartbeats and round reports.</summary>
public interface IControlPlane
{
    /// <summary>Registers this worker (again after a silo restart is fine).</summary>
    Task<HeartbeatReply> RegisterAsync(WorkerInfo worker, CancellationToken cancellationToken);

    /// <summary>Renews the lease and returns the desired state.</summary>
    Task<HeartbeatReply> HeartbeatAsync(Heartbeat heartbeat, CancellationToken cancellationToken);

    /// <summary>Rank 0 wrote a durable checkpoint.</summary>
    Task ReportCheckpointAsync(RoundKey round, CheckpointRef checkpoint, CancellationToken cancellationToken);

    /// <summary>The round broke on this rank.</summary>
    Task ReportRoundFailureAsync(RoundKey round, int rank, string reason, CancellationToken cancellationToken);

    /// <summary>Rank 0 scored samples of the final model.</summary>
    Task ReportEvaluationAsync(RoundKey round, IReadOnlyDictionary<string, double> figures, CancellationToken cancellationToken);

    /// <summary>This rank reached the target step.</summary>
    Task ReportCompletedAsync(RoundKey round, int rank, long step, CancellationToken cancellationToken);

    /// <summary>This rank leaves (SIGTERM) after the round's checkpoint.</summary>
    Task ReportLeavingAsync(RoundKey round, int rank, long step, CancellationToken cancellationToken);
}
