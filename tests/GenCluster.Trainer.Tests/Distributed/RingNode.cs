using System.Diagnostics.Metrics;
using System.Net;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>One trainer's ring server: the real ring listener on a loopback port chosen by the OS.</summary>
internal sealed class RingNode : IAsyncDisposable
{
    private readonly IHost _app;
    private readonly MeterListener _listener = new();
    private long _rejected;
    private bool _stopped;

    private RingNode(IHost app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
        Instruments = app.Services.GetRequiredService<RingInstruments>();
        Factory = app.Services.GetRequiredService<RingCollectivesFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, Instruments.Meter) && instrument.Name == "gencluster_ring_rejected_frames_total")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _rejected, value));
        _listener.Start();
    }

    public string Endpoint { get; }

    public RingInstruments Instruments { get; }

    public RingCollectivesFactory Factory { get; }

    /// <summary>Streams or frames this node refused so far.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    public static Task<RingNode> StartAsync(Action<RingOptions>? configure = null) => StartCoreAsync(configure, frozen: false);

    /// <summary>A peer that accepts ring streams and then never reads or answers.</summary>
    public static Task<RingNode> StartFrozenAsync() => StartCoreAsync(null, frozen: true);

    public static async Task<List<RingNode>> StartManyAsync(int count, Action<RingOptions>? configure = null)
    {
        var nodes = new List<RingNode>();
        for (var i = 0; i < count; i++)
        {
            nodes.Add(await StartAsync(configure));
        }

        return nodes;
    }

    private static async Task<RingNode> StartCoreAsync(Action<RingOptions>? configure, bool frozen)
    {
        if (frozen)
        {
            // A stock Kestrel + Grpc.AspNetCore server, so the ring's client is also tested against one.
            var web = WebApplication.CreateSlimBuilder();
            web.Logging.ClearProviders();
            web.Services.AddGenClusterRing(configure: configure);
            web.Services.AddGrpc();
            web.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
            var frozenApp = web.Build();
            frozenApp.MapGrpcService<FrozenRingService>();
            await frozenApp.StartAsync();
            return new RingNode(frozenApp, frozenApp.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGenClusterRing(configure: configure);
        builder.Services.ListenRing(IPAddress.Loopback, 0);
        var app = builder.Build();
        await app.StartAsync();
        return new RingNode(app, app.Services.GetRequiredService<RingListener>().Endpoint);
    }

    /// <summary>Stops the server, cutting every stream it holds, as a crashed trainer would.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await _app.StopAsync(cts.Token);
        _app.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await StopAsync();
    }

    private sealed class FrozenRingService : RingService.RingServiceBase
    {
        public override async Task<RingAck> Stream(IAsyncStreamReader<RingFrame> requestStream, ServerCallContext context)
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return new RingAck();
        }
    }
}

/// <summary>n ring nodes and one round's collectives on each.</summary>
internal sealed class RingCluster : IAsyncDisposable
{
    private RingCluster(List<RingNode> nodes, List<RingCollectives> ranks)
    {
        Nodes = nodes;
        Ranks = ranks;
    }

    public List<RingNode> Nodes { get; }

    public List<RingCollectives> Ranks { get; }

    public const string Job = "job-test";
    public const string Secret = "s3cret-for-tests";

    public static async Task<RingCluster> StartAsync(int n, Action<RingOptions>? configure = null, long round = 1)
    {
        var nodes = await RingNode.StartManyAsync(n, configure);
        var peers = nodes.Select(x => x.Endpoint).ToList();
        var ranks = nodes.Select((node, rank) => node.Factory.Create(Job, round, rank, peers, Secret)).ToList();
        return new RingCluster(nodes, ranks);
    }

    /// <summary>Runs the same collective on every rank at once.</summary>
    public Task<T[]> OnAll<T>(Func<RingCollectives, int, Task<T>> collective) =>
        Task.WhenAll(Ranks.Select((r, i) => Task.Run(() => collective(r, i))));

    public Task OnAll(Func<RingCollectives, int, Task> collective) =>
        Task.WhenAll(Ranks.Select((r, i) => Task.Run(() => collective(r, i))));

    public async ValueTask DisposeAsync()
    {
        foreach (var rank in Ranks)
        {
            await rank.DisposeAsync();
        }

        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }
}
