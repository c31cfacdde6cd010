namespace GenCluster.Trainer.Distributed;

/// <summary>How a ring connection reaches its successor.</summary>
public enum RingTransport
{
    /// <summary>TCP to the successor's advertised address and port.</summary>
    Tcp,

    /// <summary>The successor's Unix domain socket: same host only, no TCP/IP stack in the path.</summary>
    Unix,

    /// <summary>
    /// Shared memory for the collectives when every rank of the round is on this host (<see cref="SharedMemoryCollectives"/>);
    /// otherwise same-host neighbours connect as <see cref="Unix"/>.
    /// </summary>
    SharedMemory,
}

/// <summary>Names of <see cref="RingTransport"/> values in configuration, logs and metric labels.</summary>
public static class RingTransports
{
    /// <summary><c>tcp</c>, <c>unix</c> or <c>shm</c>.</summary>
    public static string Label(this RingTransport transport) => transport switch
    {
        RingTransport.Unix => "unix",
        RingTransport.SharedMemory => "shm",
        _ => "tcp",
    };

    /// <summary>Reads <c>tcp</c>, <c>unix</c> or <c>shm</c> (any case); false for anything else.</summary>
    public static bool TryParse(string? text, out RingTransport transport)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "tcp":
                transport = RingTransport.Tcp;
                return true;
            case "unix":
                transport = RingTransport.Unix;
                return true;
            case "shm":
                transport = RingTransport.SharedMemory;
                return true;
            default:
                transport = RingTransport.Tcp;
                return false;
        }
    }
}
