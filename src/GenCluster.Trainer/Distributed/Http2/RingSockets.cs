namespace GenCluster.Trainer.Distributed.Http2;

/// <summary>Socket settings both ends of a ring connection use.</summary>
internal static class RingSockets
{
    /// <summary>Send and receive buffer asked for on Unix domain sockets: four 1 MiB ring frames.</summary>
    public const int UnixBufferBytes = 4 << 20;

    /// <summary>
    /// On TCP sockets: no Nagle delay, and TCP keep-alive (probes after 30 s idle, every 5 s, 3 tries), so a connection
    /// to a host that vanished without a reset (power loss, partition) is closed within about 45 s instead of
    /// lingering forever. Unix domain sockets have neither (their peer is on this host: its death closes them); they get
    /// larger buffers instead (<see cref="UnixBufferBytes"/>, capped by the kernel's <c>net.core.wmem_max</c>): at the
    /// default 208 KiB a 1 MiB ring frame crosses in many wake-ups of each side, and 16 MiB all-reduces took twice as
    /// long as over loopback TCP, whose buffers grow to megabytes on their own.
    /// </summary>
    public static void Configure(System.Net.Sockets.Socket socket)
    {
        if (socket.AddressFamily == System.Net.Sockets.AddressFamily.Unix)
        {
            socket.SendBufferSize = UnixBufferBytes;
            socket.ReceiveBufferSize = UnixBufferBytes;
            return;
        }

        if (socket.AddressFamily is not (System.Net.Sockets.AddressFamily.InterNetwork or System.Net.Sockets.AddressFamily.InterNetworkV6))
        {
            return;
        }

        socket.NoDelay = true;
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveTime, 30);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveInterval, 5);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveRetryCount, 3);
    }

    /// <summary>
    /// Receives exactly <paramref name="buffer"/>'s length, no more (the bytes after it stay in the socket for whoever
    /// reads next); returns how many arrived, fewer only when the peer closed first.
    /// </summary>
    public static async ValueTask<int> ReceiveExactlyAsync(System.Net.Sockets.Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer[filled..], System.Net.Sockets.SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    /// <summary>
    /// The peer of <paramref name="socket"/> as gRPC writes it: its address for TCP (<see cref="Describe(System.Net.EndPoint?)"/>),
    /// <c>unix:PATH</c> with the listener's path for a Unix domain socket, whose connecting end has no name.
    /// </summary>
    public static string Describe(System.Net.Sockets.Socket socket)
    {
        if (socket.AddressFamily != System.Net.Sockets.AddressFamily.Unix)
        {
            return Describe(socket.RemoteEndPoint);
        }

        try
        {
            return $"unix:{socket.LocalEndPoint}";
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return "unix:";
        }
    }

    /// <summary>The peer's address as gRPC writes it (<c>ipv4:127.0.0.1:50432</c>, <c>ipv6:[::1]:50432</c>).</summary>
    public static string Describe(System.Net.EndPoint? endPoint) => endPoint is System.Net.IPEndPoint remote
        ? (remote.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !remote.Address.IsIPv4MappedToIPv6
            ? $"ipv6:[{remote.Address}]:{remote.Port}"
            : $"ipv4:{(remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address)}:{remote.Port}")
        : "unknown";

    /// <summary>Sends every byte of <paramref name="bytes"/> (a stream socket may take fewer per call).</summary>
    public static async ValueTask SendAllAsync(System.Net.Sockets.Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, System.Net.Sockets.SocketFlags.None, cancellationToken).ConfigureAwait(false);
            bytes = bytes[sent..];
        }
    }
}
