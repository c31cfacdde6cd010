namespace GenCluster.Trainer.Distributed.Http2;

/// <summary>Socket settings both ends of a ring connection use.</summary>
internal static class RingSockets
{
    /// <summary>
    /// No Nagle delay, and TCP keep-alive (probes after 30 s idle, every 5 s, 3 tries), so a connection to a host that
    /// vanished without a reset (power loss, partition) is closed within about 45 s instead of lingering forever.
    /// </summary>
    public static void Configure(System.Net.Sockets.Socket socket)
    {
        socket.NoDelay = true;
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveTime, 30);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveInterval, 5);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveRetryCount, 3);
    }

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
