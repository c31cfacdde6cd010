using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Distributed;

internal static partial class RingLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "Ring rejected {What} from {Remote}: job {FrameJob} round {FrameRound}, expected job {Job} round {Round} ({Reason})")]
    public static partial void Rejected(ILogger logger, string what, string remote, string frameJob, long frameRound, string job, long round, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "Ring collective {Collective} #{Sequence} failed on rank {Rank} of job {Job} round {Round}: {Error}")]
    public static partial void CollectiveFailed(ILogger logger, string collective, long sequence, int rank, string job, long round, string error);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information,
        Message = "Ring session registered: job {Job} round {Round} rank {Rank} of {WorldSize}")]
    public static partial void Registered(ILogger logger, string job, long round, int rank, int worldSize);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning,
        Message = "Ring refused a connection from {Remote} in the handshake ({Reason}): {Detail}")]
    public static partial void HandshakeRefused(ILogger logger, string remote, string reason, string detail);
}
