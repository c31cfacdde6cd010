using System.Net.Sockets;

namespace GenCluster.IntegrationTests;

/// <summary>A throwaway redis-server (Debian package <c>redis-server</c>) on a free port, no persistence.</summary>
public sealed class RedisServer : IDisposable
{
    private readonly ChildProcess _process;

    public int Port { get; } = ChildProcess.FreePort();

    public string Endpoint => $"127.0.0.1:{Port}";

    private RedisServer()
    {
        _process = new ChildProcess("redis-server",
            ["--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"]);
    }

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (server._process.HasExited) throw new InvalidOperationException($"redis-server exited:\n{server._process.Output}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", server.Port);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public void Dispose() => _process.Dispose();
}
