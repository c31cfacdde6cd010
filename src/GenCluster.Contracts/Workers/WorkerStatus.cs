namespace GenCluster.Contracts.Workers;

/// <summary>A registered trainer as the API shows it.</summary>
/// <param name="Info">What it registered with.</param>
/// <param name="Alive">True while its lease holds.</param>
/// <param name="LeaseExpiresAt">When its lease runs out.</param>
/// <param name="LastHeartbeatAt">Its last register or heartbeat.</param>
/// <param name="JobId">Job it is assigned to, or null when idle.</param>
/// <param name="Round">Round of that assignment (0 when idle).</param>
/// <param name="Rank">Rank in that round (-1 when idle).</param>
[GenerateSerializer, Immutable]
public sealed record WorkerStatus(
    [property: Id(0)] WorkerInfo Info,
    [property: Id(1)] bool Alive,
    [property: Id(2)] DateTimeOffset LeaseExpiresAt,
    [property: Id(3)] DateTimeOffset LastHeartbeatAt,
    [property: Id(4)] string? JobId,
    [property: Id(5)] long Round,
    [property: Id(6)] int Rank);
