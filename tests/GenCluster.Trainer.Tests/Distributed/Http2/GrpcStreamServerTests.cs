using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using GenCluster.Trainer.Distributed.Http2;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenCluster.Trainer.Tests.Distributed.Http2;

/// <summary>The ring port's HTTP/2 gRPC server, called by a stock gRPC client, by the ring's client and by raw frames.</summary>
public sealed class GrpcStreamServerTests : IAsyncLifetime
{
    private const string MethodPath = "/test.Bulk/Push";
    private static readonly Method<byte[], byte[]> Push = new(MethodType.ClientStreaming, "test.Bulk", "Push", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
    private static readonly Method<byte[], byte[]> Other = new(MethodType.ClientStreaming, "test.Bulk", "Other", Push.RequestMarshaller, Push.ResponseMarshaller);
    private readonly List<byte[]> _received = [];
    private readonly TaskCompletionSource<Exception?> _handlerEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private GrpcStreamServer _server = null!;
    private string _endpoint = "";
    private Func<GrpcServerCall, Task>? _beforeReading;

    public Task InitializeAsync()
    {
        var limits = new GrpcStreamServerLimits(WindowBytes: 1 << 20, MaxFrameBytes: 1 << 20, MaxMessageBytes: 4 << 20, BufferedMessages: 2, Pool: ArrayPool<byte>.Create(8 << 20, 16));
        _server = new GrpcStreamServer(new IPEndPoint(IPAddress.Loopback, 0), MethodPath, HandleAsync, limits, NullLogger.Instance);
        _server.Start();
        _endpoint = $"http://127.0.0.1:{_server.LocalEndPoint.Port}";
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task StockClientMessagesArriveInOrderAndTheResponseComesBack()
    {
        using var channel = GrpcChannel.ForAddress(_endpoint);
        using var call = channel.CreateCallInvoker().AsyncClientStreamingCall(Push, null, new CallOptions(new Metadata { { "x-tag", "t1" } }));
        var messages = new[] { 0, 1, 5, 16_384, 100_000, 3_000_001 }.Select((n, i) => Pattern(n, i)).ToArray();
        foreach (var message in messages)
        {
            await call.RequestStream.WriteAsync(message);
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call.ResponseAsync;

        Assert.Equal($"t1:{messages.Length}", System.Text.Encoding.ASCII.GetString(reply));
        Assert.Equal(messages, _received);
    }

    [Fact]
    public async Task TheRingClientOutrunsTheWindowAndWaitsForCredit()
    {
        // 24 MiB through a 1 MiB window while the handler reads slowly: every byte still arrives, in order.
        _beforeReading = _ => Task.Delay(5);
        await using var client = GrpcStreamClient.Start(_endpoint, MethodPath, [KeyValuePair.Create("x-tag", "t2")], TimeSpan.FromSeconds(5), CancellationToken.None);
        var payloads = Enumerable.Range(0, 24).Select(i => Pattern(1 << 20, i)).ToArray();
        foreach (var payload in payloads)
        {
            await client.WriteAsync(payload.AsMemory(0, 10), payload.AsMemory(10), CancellationToken.None);
        }

        await client.CompleteAsync(CancellationToken.None);
        await client.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(payloads, _received);
    }

    [Fact]
    public async Task UnknownMethodIsUnimplemented()
    {
        using var channel = GrpcChannel.ForAddress(_endpoint);
        using var call = channel.CreateCallInvoker().AsyncClientStreamingCall(Other, null, new CallOptions());

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.Contains(MethodPath, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OversizedMessageEndsTheCallNamingTheLimit()
    {
        using var channel = GrpcChannel.ForAddress(_endpoint);
        using var call = channel.CreateCallInvoker().AsyncClientStreamingCall(Push, null, new CallOptions());
        try
        {
            await call.RequestStream.WriteAsync(new byte[5 << 20]);
        }
        catch (RpcException)
        {
            // The server may answer while the message is still going out.
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("5242880", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("4194304", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessagesSplitAcrossPaddedFramesAtAnyByteAreReassembled()
    {
        using var socket = await ConnectRawAsync(endStreamOnHeaders: false);
        // Two messages (3 and 70,000 bytes) cut into DATA frames of 1, 4, 2, 69,999 and 8 bytes, some padded.
        var first = Pattern(3, 1);
        var second = Pattern(70_000, 2);
        var wire = Prefixed(first).Concat(Prefixed(second)).ToArray();
        int[] cuts = [1, 4, 2, 69_999, wire.Length - 70_006];
        var offset = 0;
        for (var i = 0; i < cuts.Length; i++)
        {
            var last = i == cuts.Length - 1;
            await SendDataAsync(socket, wire.AsMemory(offset, cuts[i]), padding: i % 2 == 0 ? 7 : -1, endStream: last);
            offset += cuts[i];
        }

        var ended = await _handlerEnded.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(ended);
        Assert.Equal([first, second], _received);
    }

    [Fact]
    public async Task ClientResetCancelsTheCallAndTheHandlerSeesWhy()
    {
        using var socket = await ConnectRawAsync(endStreamOnHeaders: false);
        await SendDataAsync(socket, Prefixed(Pattern(10, 3)), padding: -1, endStream: false);
        await socket.SendAsync(Http2Frames.Single(Http2FrameType.RstStream, Http2Flags.None, 1, Http2Frames.Word(0x8)));

        var ended = await _handlerEnded.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.IsType<IOException>(ended);
        Assert.Contains("reset the stream", ended!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonHttp2ClientsAreDroppedAndTheServerGoesOn()
    {
        using (var http1 = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await http1.ConnectAsync(IPAddress.Loopback, _server.LocalEndPoint.Port);
            await http1.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            var buffer = new byte[256];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            Assert.Equal(0, await http1.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
        }

        await StockClientMessagesArriveInOrderAndTheResponseComesBack();
    }

    [Fact]
    public async Task FrameLargerThanAdvertisedEndsTheConnectionWithGoAway()
    {
        using var socket = await ConnectRawAsync(endStreamOnHeaders: false);
        var header = new byte[Http2FrameHeader.Size];
        new Http2FrameHeader((1 << 20) + 1, Http2FrameType.Data, Http2Flags.None, 1).WriteTo(header);
        await socket.SendAsync(header);

        var frames = await ReadUntilClosedAsync(socket);

        var goAway = Assert.Single(frames, f => f.Header.Type == Http2FrameType.GoAway);
        Assert.Equal(0x6u, BinaryPrimitives.ReadUInt32BigEndian(goAway.Payload.AsSpan(4)));
    }

    [Fact]
    public async Task AResetOfTheWrongSizeEndsTheConnectionWithGoAwayNamingTheFrame()
    {
        // Fuzzing regression (corpus/ring-frame/crash-abc5d28eb5b0): a 2-byte RST_STREAM escaped the connection as
        // ArgumentOutOfRangeException.
        using var socket = await ConnectRawAsync(endStreamOnHeaders: false);
        await socket.SendAsync(Http2Frames.Single(Http2FrameType.RstStream, Http2Flags.None, 1, [0x00, 0x08]));

        var frames = await ReadUntilClosedAsync(socket);

        var goAway = Assert.Single(frames, f => f.Header.Type == Http2FrameType.GoAway);
        Assert.Equal(0x6u, BinaryPrimitives.ReadUInt32BigEndian(goAway.Payload.AsSpan(4)));
        var ended = await _handlerEnded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.IsType<IOException>(ended);
        Assert.Contains("a 2-byte RstStream frame (it must be 4 bytes)", ended!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessagesArrivingAfterTheCallEndedAreDroppedAndTheConnectionStillEnds()
    {
        // Fuzzing regression (corpus/ring-frame/hang-9b1baeb89aaa): once the handler had answered, the third message that
        // still arrived waited for room in a queue nobody read, and the connection never read again, not even its end.
        var limits = new GrpcStreamServerLimits(WindowBytes: 1 << 20, MaxFrameBytes: 1 << 20, MaxMessageBytes: 1 << 20, BufferedMessages: 2, Pool: ArrayPool<byte>.Shared);
        await using var refusing = new GrpcStreamServer(
            new IPEndPoint(IPAddress.Loopback, 0), MethodPath, _ => throw new RpcException(new Status(StatusCode.FailedPrecondition, "refused at once")),
            limits, NullLogger.Instance);
        refusing.Start();
        using var socket = await ConnectRawAsync(endStreamOnHeaders: false, refusing);
        for (var i = 0; i < 5; i++)
        {
            await SendDataAsync(socket, Prefixed(Pattern(10, i)), padding: -1, endStream: false);
        }

        socket.Shutdown(SocketShutdown.Send);
        var frames = await ReadUntilClosedAsync(socket);

        var trailers = Assert.Single(frames, f => f.Header.Type == Http2FrameType.Headers && f.Header.Has(Http2Flags.EndStreamOrAck));
        Assert.True(trailers.Payload.AsSpan().IndexOf("refused at once"u8) >= 0, "the trailers carry the handler's refusal");
    }

    [Fact]
    public async Task AConnectionGateRunsBeforeHttp2AndWhatItAdmitsReachesTheCall()
    {
        object? identity = null;
        var limits = new GrpcStreamServerLimits(WindowBytes: 1 << 20, MaxFrameBytes: 1 << 20, MaxMessageBytes: 1 << 20, BufferedMessages: 2, Pool: ArrayPool<byte>.Shared);
        await using var gated = new GrpcStreamServer(
            new IPEndPoint(IPAddress.Loopback, 0), MethodPath,
            async call =>
            {
                identity = call.Identity;
                while (await call.ReadAsync(call.CancellationToken) is { } message)
                {
                    call.Pool.Return(message.Buffer);
                }

                return [];
            },
            limits, NullLogger.Instance,
            gate: async (socket, ct) =>
            {
                var word = new byte[4];
                await RingSockets.ReceiveExactlyAsync(socket, word, ct);
                return word.AsSpan().SequenceEqual("OPEN"u8) ? "opened" : null;
            });
        gated.Start();
        var endpoint = $"http://127.0.0.1:{gated.LocalEndPoint.Port}";
        static Func<Socket, CancellationToken, Task> Say(string word) => (socket, ct) => RingSockets.SendAllAsync(socket, System.Text.Encoding.ASCII.GetBytes(word), ct).AsTask();

        await using (var refused = GrpcStreamClient.Start(endpoint, MethodPath, [], TimeSpan.FromSeconds(5), CancellationToken.None, Say("SHUT")))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => refused.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        }

        Assert.Equal(0, gated.Http2Connections);
        await using var admitted = GrpcStreamClient.Start(endpoint, MethodPath, [], TimeSpan.FromSeconds(5), CancellationToken.None, Say("OPEN"));
        await admitted.WriteAsync(new byte[1], new byte[3], CancellationToken.None);
        await admitted.CompleteAsync(CancellationToken.None);
        await admitted.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("opened", identity);
        Assert.Equal(1, gated.Http2Connections);
    }

    private async Task<byte[]> HandleAsync(GrpcServerCall call)
    {
        var count = 0;
        try
        {
            while (true)
            {
                if (_beforeReading is { } delay)
                {
                    await delay(call);
                }

                if (await call.ReadAsync(call.CancellationToken) is not { } message)
                {
                    break;
                }

                _received.Add(message.Buffer.AsSpan(0, message.Length).ToArray());
                call.Pool.Return(message.Buffer);
                count++;
            }

            _handlerEnded.TrySetResult(null);
        }
        catch (Exception ex)
        {
            _handlerEnded.TrySetResult(ex);
            throw;
        }

        call.Headers.TryGetValue("x-tag", out var tag);
        return System.Text.Encoding.ASCII.GetBytes($"{tag}:{count}");
    }

    private async Task<Socket> ConnectRawAsync(bool endStreamOnHeaders, GrpcStreamServer? server = null)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, (server ?? _server).LocalEndPoint.Port);
        var block = new List<byte>();
        Hpack.WriteIndexed(block, Hpack.MethodPost);
        Hpack.WriteIndexed(block, Hpack.SchemeHttp);
        Hpack.WriteLiteral(block, Hpack.PathName, MethodPath);
        Hpack.WriteLiteral(block, Hpack.ContentTypeName, "application/grpc");
        var opening = new List<byte>(Http2FrameHeader.ClientPreface.ToArray());
        Http2Frames.Add(opening, Http2FrameType.Settings, Http2Flags.None, 0, []);
        Http2Frames.Add(opening, Http2FrameType.Headers, Http2Flags.EndHeaders | (endStreamOnHeaders ? Http2Flags.EndStreamOrAck : Http2Flags.None), 1, block.ToArray());
        await socket.SendAsync(opening.ToArray());
        return socket;
    }

    private static async Task SendDataAsync(Socket socket, ReadOnlyMemory<byte> data, int padding, bool endStream)
    {
        var flags = endStream ? Http2Flags.EndStreamOrAck : Http2Flags.None;
        var payload = padding < 0
            ? data.ToArray()
            : new[] { (byte)padding }.Concat(data.ToArray()).Concat(new byte[padding]).ToArray();
        await socket.SendAsync(Http2Frames.Single(Http2FrameType.Data, padding < 0 ? flags : flags | Http2Flags.Padded, 1, payload));
    }

    private static async Task<List<(Http2FrameHeader Header, byte[] Payload)>> ReadUntilClosedAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var bytes = new List<byte>();
        var buffer = new byte[65_536];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            bytes.AddRange(buffer.AsSpan(0, read));
        }

        var frames = new List<(Http2FrameHeader, byte[])>();
        var all = bytes.ToArray();
        for (var i = 0; i + Http2FrameHeader.Size <= all.Length;)
        {
            var header = Http2FrameHeader.Read(all.AsSpan(i));
            frames.Add((header, all.AsSpan(i + Http2FrameHeader.Size, header.Length).ToArray()));
            i += Http2FrameHeader.Size + header.Length;
        }

        return frames;
    }

    private static byte[] Prefixed(byte[] message)
    {
        var wire = new byte[5 + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(wire.AsSpan(1), message.Length);
        message.CopyTo(wire, 5);
        return wire;
    }

    private static byte[] Pattern(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)((i * 7) + seed)).ToArray();
}
