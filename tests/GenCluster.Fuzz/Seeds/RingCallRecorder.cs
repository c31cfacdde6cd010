using System.Net;
using System.Net.Sockets;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenCluster.Fuzz.Seeds;

/// <summary>
/// Records the bytes of one real ring call: the ring's client (<see cref="GrpcStreamClient"/>, with the headers
/// <see cref="RingCollectives"/> sends) talks through a recording relay to the ring port's server
/// (<see cref="GrpcStreamServer"/> with the listener's limits, answering with a <c>RingAck</c> as
/// <see cref="RingServer"/> does). Without the handshake: the recording starts at the HTTP/2 preface.
/// </summary>
internal static class RingCallRecorder
{
    /// <summary>What each side sent, in order.</summary>
    public sealed record Recording(byte[] FromClient, byte[] FromServer);

    /// <summary>Calls <paramref name="method"/>, sends <paramref name="messages"/> (head, payload) and half-closes.</summary>
    public static async Task<Recording> RecordAsync(string method, IReadOnlyList<(byte[] Head, byte[] Payload)> messages)
    {
        await using var server = new GrpcStreamServer(
            new IPEndPoint(IPAddress.Loopback, 0), RingServer.Method, AcknowledgeAsync, RingListener.Limits(new RingOptions(), new RingFramePool()),
            NullLogger.Instance);
        server.Start();
        using var relay = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        relay.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        relay.Listen(1);
        var accepting = relay.AcceptAsync();
        var client = GrpcStreamClient.Start(
            $"http://{relay.LocalEndPoint}", method, RingSeeds.StreamHeaders, TimeSpan.FromSeconds(10), CancellationToken.None);
        using var fromClient = await accepting.ConfigureAwait(false);
        using var toServer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await toServer.ConnectAsync(server.LocalEndPoint).ConfigureAwait(false);
        using var upstream = new MemoryStream();
        using var downstream = new MemoryStream();
        var pumps = Task.WhenAll(PumpAsync(fromClient, toServer, upstream), PumpAsync(toServer, fromClient, downstream));
        try
        {
            foreach (var (head, payload) in messages)
            {
                await client.WriteAsync(head, payload, CancellationToken.None).ConfigureAwait(false);
            }

            await client.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
            await client.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // A call the server refuses (another method) ends with its status: the refusal is what is recorded.
        }
        finally
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        await pumps.ConfigureAwait(false);
        return new Recording(upstream.ToArray(), downstream.ToArray());
    }

    private static async Task<byte[]> AcknowledgeAsync(GrpcServerCall call)
    {
        long frames = 0;
        while (await call.ReadAsync(call.CancellationToken).ConfigureAwait(false) is { } message)
        {
            InboundFrame.ParseOwned(message.Buffer, message.Length, call.Pool).Release();
            frames++;
        }

        return Google.Protobuf.MessageExtensions.ToByteArray(new Contracts.Ring.RingAck { Frames = frames });
    }

    private static async Task PumpAsync(Socket from, Socket to, MemoryStream record)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false)) > 0)
            {
                record.Write(buffer, 0, read);
                await RingSockets.SendAllAsync(to, buffer.AsMemory(0, read), CancellationToken.None).ConfigureAwait(false);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // One end closed hard; everything it sent before is recorded.
        }
    }
}
