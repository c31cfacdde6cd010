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

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information,
        Message = "Ring rank {Rank} of job {Job} round {Round} sends to rank {Successor} ({Endpoint}) over {Transport}")]
    public static partial void Connected(ILogger logger, int rank, string job, long round, int successor, string endpoint, string transport);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning,
        Message = "Ring rank {Rank}: the Unix socket of rank {Successor} did not connect, using TCP to {Endpoint} instead ({Reason}); logged once per socket")]
    public static partial void UnixFallback(ILogger logger, int rank, int successor, string endpoint, string reason);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Ring port also listens on the Unix socket {Path}")]
    public static partial void ListeningOnUnixSocket(ILogger logger, string path);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning,
        Message = "Ring port serves TCP only: cannot listen on the Unix socket {Path} ({Reason})")]
    public static partial void UnixSocketUnavailable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information,
        Message = "Ring rank {Rank} of job {Job} round {Round}: the {WorldSize} ranks on this host share memory ({SlotBytes}-byte slots; {Watched} peer processes watched)")]
    public static partial void SharedMemory(ILogger logger, int rank, string job, long round, int worldSize, int slotBytes, int watched);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning,
        Message = "Ring rank {Rank} of job {Job} round {Round}: ranks share a host but not shared memory, collectives use the ring's sockets ({Reason})")]
    public static partial void SharedMemoryDeclined(ILogger logger, int rank, string job, long round, string reason);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Debug,
        Message = "Ring rank {Rank} of job {Job} round {Round}: ranks share a host, collectives use the ring's sockets as configured ({Reason})")]
    public static partial void SharedMemoryNotConfigured(ILogger logger, int rank, string job, long round, string reason);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information,
        Message = "Ring rank {Rank} of job {Job} round {Round}: {Hosts} hosts, {OnThisHost} ranks on this one; all-reduces reduce within each host in shared memory and cross the hosts over {Rings} ring(s), this rank's with {AcrossRing}")]
    public static partial void HostHierarchy(ILogger logger, int rank, string job, long round, int hosts, int onThisHost, int rings, string acrossRing);
}
