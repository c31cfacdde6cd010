using System.Net;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// A ring peer's advertised endpoint, as the control plane hands it to the other ranks: <c>http://host:port</c>, and,
/// when the peer also listens on a Unix domain socket, that socket's path as the query <c>uds</c>, e.g.
/// <c>http://10.77.0.11:7201?uds=/run/user/1000/gencluster/ring-7201-4242.sock</c>. The query leaves the URI's
/// scheme, host and port as they were, so a reader that knows only TCP still finds them.
/// </summary>
/// <param name="TcpEndpoint">The endpoint without the query, <c>http://host:port</c> (the text as given when it is not a URI).</param>
/// <param name="Host">The host part, brackets removed; null when the endpoint is not an absolute URI.</param>
/// <param name="UnixSocketPath">The advertised Unix socket path; null when absent or not an absolute path.</param>
public sealed record RingPeerAddress(string TcpEndpoint, string? Host, string? UnixSocketPath)
{
    /// <summary>The query parameter that carries the Unix socket path.</summary>
    public const string UnixQueryName = "uds";

    /// <summary>Reads an advertised endpoint; never throws (an endpoint it cannot read comes back as its own TCP endpoint).</summary>
    public static RingPeerAddress Parse(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var query = endpoint.IndexOf('?', StringComparison.Ordinal);
        var tcp = query < 0 ? endpoint : endpoint[..query];
        var host = Uri.TryCreate(tcp, UriKind.Absolute, out var uri) ? uri.Host.Trim('[', ']') : null;
        return new RingPeerAddress(tcp, host, query < 0 ? null : UnixPathIn(endpoint[(query + 1)..]));
    }

    /// <summary><paramref name="tcpEndpoint"/> with <paramref name="unixSocketPath"/> as its <c>uds</c> query (unchanged when the path is null).</summary>
    public static string Format(string tcpEndpoint, string? unixSocketPath) => unixSocketPath is null
        ? tcpEndpoint
        : $"{tcpEndpoint}?{UnixQueryName}={string.Join('/', unixSocketPath.Split('/').Select(Uri.EscapeDataString))}";

    /// <summary>Whether <paramref name="other"/> advertises the same IP address (a host name never matches: it may resolve differently on each host).</summary>
    public bool HasSameAddressAs(RingPeerAddress other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return IPAddress.TryParse(Host, out var mine) && IPAddress.TryParse(other.Host, out var theirs) && Normal(mine).Equals(Normal(theirs));
    }

    /// <summary>How many of <paramref name="peers"/> advertise the same IP address as <paramref name="peers"/>[<paramref name="index"/>] (itself included).</summary>
    public static int SharingAddressWith(IReadOnlyList<string> peers, int index)
    {
        ArgumentNullException.ThrowIfNull(peers);
        var self = Parse(peers[index]);
        return peers.Count(p => Parse(p).HasSameAddressAs(self));
    }

    private static IPAddress Normal(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static string? UnixPathIn(string query)
    {
        var fragment = query.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            query = query[..fragment];
        }

        foreach (var pair in query.Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0 || pair[..equals] != UnixQueryName)
            {
                continue;
            }

            string path;
            try
            {
                path = Uri.UnescapeDataString(pair[(equals + 1)..]);
            }
            catch (UriFormatException)
            {
                return null;
            }

            return path.StartsWith('/') && !path.Contains('\0', StringComparison.Ordinal) ? path : null;
        }

        return null;
    }
}
