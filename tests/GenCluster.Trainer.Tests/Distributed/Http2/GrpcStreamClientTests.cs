using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Distributed.Http2;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Tests.Distributed.Http2;

/// <summary>The ring's HTTP/2 gRPC client against a stock Kestrel + Grpc.AspNetCore server with default limits.</summary>
public sealed class GrpcStreamClientTests : IAsyncLifetime
{
    private static readonly string Method = $"/{RingService.Descriptor.FullName}/Stream";
    private WebApplication? _app;
    private string _endpoint = "";
    private readonly Recorder _recorder = new();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = null);
        builder.Services.AddSingleton(_recorder);
        // Kestrel's defaults on purpose: 16 KiB frames, a 768 KiB stream window, so messages span many DATA frames
        // and the client must wait for WINDOW_UPDATEs.
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        _app = builder.Build();
        _app.MapGrpcService<RecordingService>();
        await _app.StartAsync();
        _endpoint = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task MessagesOfEverySizeArriveIntactAndTheCallEndsOk()
    {
        int[] sizes = [0, 1, 16_383, 16_384, 65_536 + 7, 3 * 1024 * 1024 + 5];
        await using var client = Start(("gencluster-job", "j1"));
        var head = new byte[RingFrameHead.MaxBytes];
        for (var i = 0; i < sizes.Length; i++)
        {
            var payload = Pattern(sizes[i], i);
            var frame = new RingFrame { JobId = "j1", Sequence = i };
            await client.WriteAsync(head.AsMemory(0, RingFrameHead.Write(frame, payload.Length, head)), payload, CancellationToken.None);
        }

        await client.CompleteAsync(CancellationToken.None);
        await client.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("j1", _recorder.Job);
        Assert.Equal(sizes.Length, _recorder.Frames.Count);
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(i, _recorder.Frames[i].Sequence);
            Assert.Equal(Pattern(sizes[i], i), _recorder.Frames[i].Payload.ToByteArray());
        }
    }

    [Fact]
    public async Task ServerStatusAndMessageReachTheCaller()
    {
        await using var client = Start(("gencluster-job", "refuse-me"));

        var error = await Assert.ThrowsAsync<RpcException>(() => client.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("job refuse-me is not welcome here: 100% sure, ü", error.Status.Detail);
        var write = await Assert.ThrowsAsync<RpcException>(() => client.WriteAsync(new byte[1], new byte[10], CancellationToken.None));
        Assert.Equal(StatusCode.PermissionDenied, write.StatusCode);
    }

    [Fact]
    public async Task ClosedPortFailsFastNamingTheEndpoint()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var closed = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();
        var watch = Stopwatch.StartNew();
        await using var client = GrpcStreamClient.Start(closed, Method, [], TimeSpan.FromSeconds(30), CancellationToken.None);

        var error = await Assert.ThrowsAsync<RpcException>(() => client.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains(closed, error.Status.Detail, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task AHandshakeThatRefusesKeepsItsStatusAndNoHttp2IsSent()
    {
        await using var client = GrpcStreamClient.Start(_endpoint, Method, [], TimeSpan.FromSeconds(10), CancellationToken.None,
            (_, _) => throw new RpcException(new Status(StatusCode.Unauthenticated, "the peer refused us")));

        var error = await Assert.ThrowsAsync<RpcException>(() => client.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains(_endpoint, error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("the peer refused us", error.Status.Detail, StringComparison.Ordinal);
        Assert.Null(_recorder.Job);
    }

    [Theory]
    [InlineData("https://127.0.0.1:1")]
    [InlineData("127.0.0.1:7000")]
    [InlineData("not a uri")]
    public void EndpointsOtherThanCleartextHttpAreRefused(string endpoint)
    {
        var error = Assert.Throws<ArgumentException>(() => GrpcStreamClient.Start(endpoint, Method, [], TimeSpan.FromSeconds(1), CancellationToken.None));

        Assert.Contains(endpoint, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancellingAWriteBlockedOnFlowControlResetsTheStream()
    {
        await using var client = Start(("gencluster-job", "stall"));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var head = new byte[RingFrameHead.MaxBytes];
        var payload = new byte[8 * 1024 * 1024];

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.WriteAsync(head.AsMemory(0, RingFrameHead.Write(new RingFrame { JobId = "stall" }, payload.Length, head)), payload, cts.Token));

        var error = await Assert.ThrowsAsync<RpcException>(() => client.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        var after = await Assert.ThrowsAsync<RpcException>(() => client.WriteAsync(new byte[1], new byte[1], CancellationToken.None));
        Assert.Equal(StatusCode.Cancelled, after.StatusCode);
    }

    private GrpcStreamClient Start(params (string Name, string Value)[] headers) =>
        GrpcStreamClient.Start(_endpoint, Method, headers.Select(h => KeyValuePair.Create(h.Name, h.Value)), TimeSpan.FromSeconds(10), CancellationToken.None);

    private static byte[] Pattern(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)((i * 31) + seed)).ToArray();

    private sealed class Recorder
    {
        public string? Job { get; set; }

        public List<RingFrame> Frames { get; } = [];
    }

    private sealed class RecordingService(Recorder recorder) : RingService.RingServiceBase
    {
        public override async Task<RingAck> Stream(IAsyncStreamReader<RingFrame> requestStream, ServerCallContext context)
        {
            var job = context.RequestHeaders.GetValue("gencluster-job");
            if (job == "refuse-me")
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, $"job {job} is not welcome here: 100% sure, ü"));
            }

            if (job == "stall")
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }

            recorder.Job = job;
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                recorder.Frames.Add(requestStream.Current);
            }

            return new RingAck { Frames = recorder.Frames.Count };
        }
    }
}
