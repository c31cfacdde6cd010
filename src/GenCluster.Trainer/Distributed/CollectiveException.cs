namespace GenCluster.Trainer.Distributed;

/// <summary>A collective failed; names the collective and, when known, the rank and endpoint responsible.</summary>
public class CollectiveException : Exception
{
    public CollectiveException(string message, string collective, long sequence, int? peerRank, string? peerEndpoint, Exception? inner = null)
        : base(message, inner)
    {
        Collective = collective;
        Sequence = sequence;
        PeerRank = peerRank;
        PeerEndpoint = peerEndpoint;
    }

    /// <summary>The collective, e.g. <c>all-reduce</c>.</summary>
    public string Collective { get; }

    /// <summary>Its sequence number within the round.</summary>
    public long Sequence { get; }

    /// <summary>The rank that failed or is missing, when known.</summary>
    public int? PeerRank { get; }

    /// <summary>That rank's ring endpoint, when known.</summary>
    public string? PeerEndpoint { get; }
}

/// <summary>A collective passed its deadline waiting on a peer (frozen, overloaded or partitioned).</summary>
public sealed class CollectiveTimeoutException : CollectiveException
{
    public CollectiveTimeoutException(string message, string collective, long sequence, int peerRank, string peerEndpoint, TimeSpan timeout)
        : base(message, collective, sequence, peerRank, peerEndpoint)
    {
        Timeout = timeout;
    }

    /// <summary>The deadline that passed.</summary>
    public TimeSpan Timeout { get; }
}

/// <summary>A peer's connection failed or was refused (process gone, stream reset, rejected credentials).</summary>
public sealed class PeerFailedException : CollectiveException
{
    public PeerFailedException(string message, string collective, long sequence, int peerRank, string peerEndpoint, Exception? inner)
        : base(message, collective, sequence, peerRank, peerEndpoint, inner)
    {
    }
}
