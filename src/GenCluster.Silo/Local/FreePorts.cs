using System.Net;
using System.Net.Sockets;

namespace GenCluster.Silo.Local;

/// <summary>Picks TCP ports that are free on loopback right now.</summary>
public static class FreePorts
{
    /// <summary>One free port.</summary>
    public static int One() => Take(1)[0];

    /// <summary>Returns <paramref name="count"/> distinct free ports.</summary>
    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners) listener.Stop();
        }
    }
}
