using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using GenCluster.Trainer.Distributed;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>One trainer's ring server: the real ring listener on a loopback port chosen by the OS.</summary>
internal sealed class RingNode : IAsyncDisposable
{
    private readonly IHost _app;
    private readonly RingListener _ring;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<string> _reasons = new();
    private bool _stopped;

    private RingNode(IHost app)
    {
        _app = app;
        _ring = app.Services.GetRequiredService<RingListener>();
        Endpoint = _ring.Endpoint;
        Port = new Uri(Endpoint).Port;
        Instruments = app.Services.GetRequiredService<RingInstruments>();
        Factory = app.Services.GetRequiredService<RingCollectivesFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, Instruments.Meter) && instrument.Name == "gencluster_ring_rejected_frames_total")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "reason")
                {
                    for (var i = 0; i < value; i++)
                    {
                        _reasons.Enqueue((string)tag.Value!);
                    }
                }
            }
        });
        _listener.Start();
    }

    public string Endpoint { get; }

    public int Port { get; }

    public RingInstruments Instruments { get; }

    public RingCollectivesFactory Factory { get; }

    /// <summary>Connections, streams or frames this node refused so far.</summary>
    public long Rejected => _reasons.Count;

    /// <summary>Why this node refused what it refused, in order.</summary>
    public IReadOnlyList<string> RejectedReasons => [.. _reasons];

    /// <summary>
    /// The refusals once there are at least <paramref name="count"/> of them (or whatever there is after 10 s): a peer
    /// may see its connection closed a moment before this node has counted the refusal.
    /// </summary>
    public async Task<IReadOnlyList<string>> RejectionsAsync(int count)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_reasons.Count < count && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        return RejectedReasons;
    }

    /// <summary>Connections that passed the handshake and reached this node's HTTP/2 layer.</summary>
    public long Http2Connections => _ring.Http2Connections;

    /// <summary>Connections that passed the handshake and reached this node's HTTP/2 layer over <paramref name="transport"/>.</summary>
    public long Http2ConnectionsOver(RingTransport transport) => _ring.Http2ConnectionsOver(transport);

    /// <summary>The Unix socket this node's ring port also listens on; null when it serves TCP only.</summary>
    public string? UnixSocketPath => _ring.UnixSocketPath;

    public static async Task<RingNode> StartAsync(Action<RingOptions>? configure = null, IPAddress? address = null, int port = 0)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGenClusterRing(configure: configure);
        builder.Services.ListenRing(address ?? IPAddress.Loopback, port);
        var app = builder.Build();
        await app.StartAsync();
        return new RingNode(app);
    }

    public static async Task<List<RingNode>> StartManyAsync(int count, Action<RingOptions>? configure = null)
    {
        var nodes = new List<RingNode>();
        for (var i = 0; i < count; i++)
        {
            nodes.Add(await StartAsync(configure));
        }

        return nodes;
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
}

/// <summary>n ring nodes and one round's collectives on each.</summary>
internal sealed class RingCluster : IAsyncDisposable
{
    public RingCluster(List<RingNode> nodes, List<RingCollectives> ranks)
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

    /// <summary>
    /// One rank per entry of <paramref name="hostOfRank"/>, its node listening on that loopback address (127.0.0.1,
    /// 127.0.0.2, …: all loopback on Linux, yet different addresses, so the ranks take themselves for separate hosts).
    /// </summary>
    public static async Task<RingCluster> StartOnHostsAsync(IReadOnlyList<int> hostOfRank, Action<RingOptions>? configure = null, long round = 1)
    {
        var nodes = new List<RingNode>();
        foreach (var host in hostOfRank)
        {
            nodes.Add(await RingNode.StartAsync(configure, IPAddress.Parse($"127.0.0.{host}")));
        }

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
