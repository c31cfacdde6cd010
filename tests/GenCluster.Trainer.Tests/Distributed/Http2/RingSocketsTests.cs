using System.Net.Sockets;
using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Trainer.Tests.Distributed.Http2;

public class RingSocketsTests
{
    [Fact]
    public void RingConnectionsProbeIdlePeersAndSendWithoutDelay()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);

        RingSockets.Configure(socket);

        Assert.True(socket.NoDelay);
        Assert.Equal(1, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Assert.Equal(30, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        Assert.Equal(5, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);
        Assert.Equal(3, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!);
    }
}
