namespace GenCluster.Trainer.Distributed;

/// <summary>How a ring connection reaches its successor.</summary>
public enum RingTransport
{
    /// <summary>TCP to the successor's advertised address and port.</summary>
    Tcp,

    /// <summary>The successor's Unix domain socket: same host only, no TCP/IP stack in the path.</summary>
    Unix,
}

/// <summary>Names of <see cref="RingTransport"/> values in configuration, logs and metric labels.</summary>
public static class RingTransports
{
    /// <summary><c>tcp</c> or <c>unix</c>.</summary>
    public static string Label(this RingTransport transport) => transport == RingTransport.Unix ? "unix" : "tcp";

    /// <summary>Reads <c>tcp</c> or <c>unix</c> (any case); false for anything else.</summary>
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
            default:
                transport = RingTransport.Tcp;
                return false;
        }
    }
}
