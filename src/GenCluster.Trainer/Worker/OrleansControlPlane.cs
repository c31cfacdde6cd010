using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;

namespace GenCluster.Trainer.Worker;

/// <summary><see cref="IControlPlane"/> over the Orleans client: the worker registry and job grains.</summary>
public sealed class OrleansControlPlane(IClusterClient client) : IControlPlane
{
    private IWorkerRegistryGrain Registry => client.GetGrain<IWorkerRegistryGrain>(IWorkerRegistryGrain.Key);

    public Task<HeartbeatReply> RegisterAsync(WorkerInfo worker, CancellationToken cancellationToken) =>
        Registry.Register(worker).WaitAsync(cancellationToken);

    public Task<HeartbeatReply> HeartbeatAsync(Heartbeat heartbeat, CancellationToken cancellationToken) =>
        Registry.Heartbeat(heartbeat).WaitAsync(cancellationToken);

    public Task ReportCheckpointAsync(RoundKey round, CheckpointRef checkpoint, CancellationToken cancellationToken) =>
        Job(round).ReportCheckpoint(round.Round, checkpoint).WaitAsync(cancellationToken);

    public Task ReportRoundFailureAsync(RoundKey round, int rank, string reason, CancellationToken cancellationToken) =>
        Job(round).ReportRoundFailure(round.Round, rank, reason).WaitAsync(cancellationToken);

    public Task ReportEvaluationAsync(RoundKey round, IReadOnlyDictionary<string, double> figures, CancellationToken cancellationToken) =>
        Job(round).ReportEvaluation(round.Round, figures).WaitAsync(cancellationToken);

    public Task ReportCompletedAsync(RoundKey round, int rank, long step, CancellationToken cancellationToken) =>
        Job(round).ReportCompleted(round.Round, rank, step).WaitAsync(cancellationToken);

    public Task ReportLeavingAsync(RoundKey round, int rank, long step, CancellationToken cancellationToken) =>
        Job(round).ReportLeaving(round.Round, rank, step).WaitAsync(cancellationToken);

    private IJobGrain Job(RoundKey round) => client.GetGrain<IJobGrain>(round.JobId);
}
