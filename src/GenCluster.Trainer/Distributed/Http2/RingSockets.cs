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
}
