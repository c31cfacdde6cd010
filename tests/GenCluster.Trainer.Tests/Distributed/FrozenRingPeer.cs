using System.Net;
using System.Net.Sockets;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>
/// A ring peer that completes the handshake for the test job, sends its HTTP/2 SETTINGS and then never answers again:
/// a trainer that hangs after accepting its predecessor.
/// </summary>
internal sealed class FrozenRingPeer : IAsyncDisposable
{
    private const int Window = 16 << 20;
    private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;

    public FrozenRingPeer(string secret = RingCluster.Secret)
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(8);
        Endpoint = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";
        _accepting = AcceptAsync(secret);
    }

    public string Endpoint { get; }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        await _accepting;
        lock (_held)
        {
            _held.ForEach(s => s.Dispose());
        }

        _stopping.Dispose();
    }

    /// <summary>Reads and drops whatever the peer sends, as a server whose handler never reads its stream would buffer it.</summary>
    private async Task DrainAsync(Socket socket)
    {
        var sink = new byte[64 * 1024];
        try
        {
            int read;
            do
            {
                read = await socket.ReceiveAsync(sink, SocketFlags.None, _stopping.Token);
            }
            while (read > 0);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }

    private async Task AcceptAsync(string secret)
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptAsync(_stopping.Token);
                lock (_held)
                {
                    _held.Add(socket);
                }

                var outcome = await RingHandshakeSocket.AcceptAsync(
                    socket, TimeSpan.FromSeconds(10), TimeProvider.System, (_, _) => Task.FromResult<string?>(secret), _stopping.Token);
                if (outcome.Authenticated)
                {
                    // Windows wide enough for everything the tests send, so only the missing answers can stall a rank.
                    var opening = new List<byte>();
                    Http2Frames.Add(opening, Http2FrameType.Settings, Http2Flags.None, 0, Http2Frames.Settings((Http2Setting.InitialWindowSize, Window)));
                    Http2Frames.Add(opening, Http2FrameType.WindowUpdate, Http2Flags.None, 0, Http2Frames.Word((uint)Window));
                    await socket.SendAsync(opening.ToArray(), _stopping.Token);
                    _ = DrainAsync(socket);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }
}
