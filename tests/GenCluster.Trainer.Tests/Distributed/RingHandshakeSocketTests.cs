using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;
using Grpc.Core;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>Both ends of the ring handshake over a real loopback connection.</summary>
public sealed class RingHandshakeSocketTests : IDisposable
{
    private const string Job = "job-h";
    private const string Secret = "the-job-secret";
    private const string Endpoint = "http://test-server";
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);
    private readonly Socket _client;
    private readonly Socket _server;

    public RingHandshakeSocketTests()
    {
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        _client.Connect(listener.LocalEndPoint!);
        _server = listener.Accept();
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task TheRightSecretAuthenticatesBothEndsAndTheClaim()
    {
        var accepting = AcceptAsync(HelloTimeout, Secret);

        await RingHandshakeSocket.ConnectAsync(_client, new RingHandshake.Client(Job, 4, 2, Secret), Endpoint, CancellationToken.None);
        var outcome = await accepting;

        Assert.True(outcome.Authenticated, outcome.Detail);
        Assert.True(outcome.Claim!.IsFor(Job));
        Assert.Equal((4L, 2), (outcome.Claim.Round, outcome.Claim.Rank));
    }

    [Fact]
    public async Task TheServerReadsExactlyTheHelloAndLeavesWhatFollowsUnread()
    {
        var accepting = AcceptAsync(HelloTimeout, Secret);
        var hello = new byte[RingHandshake.ServerHelloBytes];
        Assert.Equal(hello.Length, await RingSockets.ReceiveExactlyAsync(_client, hello, CancellationToken.None));
        var preface = Http2FrameHeader.ClientPreface.ToArray();

        // The answer and the HTTP/2 preface in one write, as a client that does not wait for the proof would send them.
        await _client.SendAsync(new RingHandshake.Client(Job, 1, 0, Secret).Answer(hello).Concat(preface).ToArray());
        var outcome = await accepting;

        Assert.True(outcome.Authenticated, outcome.Detail);
        var next = new byte[preface.Length];
        Assert.Equal(preface.Length, await RingSockets.ReceiveExactlyAsync(_server, next, CancellationToken.None));
        Assert.Equal(preface, next);
        Assert.Equal(0, _server.Available);
    }

    [Fact]
    public async Task AWrongSecretIsRefusedAndTheClientHearsWhy()
    {
        var accepting = AcceptAsync(HelloTimeout, Secret, closeOnRefusal: true);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            RingHandshakeSocket.ConnectAsync(_client, new RingHandshake.Client(Job, 1, 0, "wrong"), Endpoint, CancellationToken.None));
        var outcome = await accepting;

        Assert.Equal("bad-secret", outcome.Reason);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains(Endpoint, error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("refused the ring handshake", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AJobTheServerDoesNotHostIsRefused()
    {
        var accepting = AcceptAsync(HelloTimeout, secret: null, closeOnRefusal: true);

        await Assert.ThrowsAsync<RpcException>(() =>
            RingHandshakeSocket.ConnectAsync(_client, new RingHandshake.Client("another-job", 1, 0, Secret), Endpoint, CancellationToken.None));

        Assert.Equal("no-session", (await accepting).Reason);
    }

    [Fact]
    public async Task APeerThatSendsNothingIsRefusedAtTheDeadline()
    {
        var deadline = TimeSpan.FromMilliseconds(300);
        var watch = Stopwatch.StartNew();

        var outcome = await AcceptAsync(deadline, Secret).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("handshake-timeout", outcome.Reason);
        Assert.InRange(watch.Elapsed, deadline - TimeSpan.FromMilliseconds(50), deadline + TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task APeerThatStopsPartWayIsRefusedAtTheDeadline()
    {
        var accepting = AcceptAsync(TimeSpan.FromMilliseconds(300), Secret);
        var hello = new byte[RingHandshake.ServerHelloBytes];
        await RingSockets.ReceiveExactlyAsync(_client, hello, CancellationToken.None);

        await _client.SendAsync(new RingHandshake.Client(Job, 1, 0, Secret).Answer(hello).AsMemory(0, 100));

        Assert.Equal("handshake-timeout", (await accepting.WaitAsync(TimeSpan.FromSeconds(10))).Reason);
    }

    [Fact]
    public async Task ATruncatedHelloIsRefused()
    {
        var accepting = AcceptAsync(HelloTimeout, Secret);
        var hello = new byte[RingHandshake.ServerHelloBytes];
        await RingSockets.ReceiveExactlyAsync(_client, hello, CancellationToken.None);

        await _client.SendAsync(new RingHandshake.Client(Job, 1, 0, Secret).Answer(hello).AsMemory(0, 115));
        _client.Shutdown(SocketShutdown.Send);
        var outcome = await accepting;

        Assert.Equal("bad-handshake", outcome.Reason);
        Assert.Contains("115 of the 116", outcome.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GarbageIsRefusedAfterExactlyOneHellosWorth()
    {
        var accepting = AcceptAsync(HelloTimeout, Secret);
        var garbage = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();

        await _client.SendAsync(garbage);
        var outcome = await accepting;

        Assert.Equal("bad-handshake", outcome.Reason);
        Assert.Null(outcome.Claim);
        Assert.Equal(garbage.Length - RingHandshake.ClientHelloBytes, _server.Available);
    }

    [Fact]
    public async Task AServerThatDoesNotSpeakTheHandshakeIsRefusedByTheClient()
    {
        await _server.SendAsync(Http2Frames.Single(Http2FrameType.Settings, Http2Flags.None, 0, new byte[RingHandshake.ServerHelloBytes]));

        await Assert.ThrowsAsync<InvalidDataException>(() =>
            RingHandshakeSocket.ConnectAsync(_client, new RingHandshake.Client(Job, 1, 0, Secret), Endpoint, CancellationToken.None));
    }

    [Fact]
    public async Task AServerThatCannotProveTheSecretIsRefusedByTheClient()
    {
        // An impostor: a valid hello, then any 32 bytes as its "proof".
        var impostor = Task.Run(async () =>
        {
            await _server.SendAsync(new RingHandshake.Server().Hello);
            await RingSockets.ReceiveExactlyAsync(_server, new byte[RingHandshake.ClientHelloBytes], CancellationToken.None);
            await _server.SendAsync(new byte[RingHandshake.ServerProofBytes]);
        });

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            RingHandshakeSocket.ConnectAsync(_client, new RingHandshake.Client(Job, 1, 0, Secret), Endpoint, CancellationToken.None));
        await impostor;

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("not a ring peer of this job", error.Status.Detail, StringComparison.Ordinal);
    }

    private Task<RingHandshakeOutcome> AcceptAsync(TimeSpan helloTimeout, string? secret, bool closeOnRefusal = false) => Task.Run(async () =>
    {
        var outcome = await RingHandshakeSocket.AcceptAsync(
            _server, helloTimeout, TimeProvider.System, (claim, _) => Task.FromResult(claim.IsFor(Job) ? secret : null), CancellationToken.None);
        if (closeOnRefusal && !outcome.Authenticated)
        {
            _server.Shutdown(SocketShutdown.Both);
        }

        return outcome;
    });
}
