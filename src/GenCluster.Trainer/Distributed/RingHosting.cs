using System.Net;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Distributed.Http2;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Distributed;

/// <summary>Registers the ring's services and its listener.</summary>
public static class RingHosting
{
    /// <summary>
    /// Adds the ring server, session registry, options (section <c>Ring</c> when <paramref name="configuration"/> is
    /// given) and instruments. <see cref="ListenRing(IServiceCollection, IPAddress, int)"/> adds the port.
    /// </summary>
    public static IServiceCollection AddGenClusterRing(this IServiceCollection services, IConfiguration? configuration = null, Action<RingOptions>? configure = null)
    {
        var builder = services.AddOptions<RingOptions>();
        if (configuration is not null)
        {
            builder.Bind(configuration.GetSection(RingOptions.Section));
        }

        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RingOptions>, RingOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RingInstruments>();
        services.TryAddSingleton<RingSessionRegistry>();
        services.TryAddSingleton<RingCollectivesFactory>();
        services.TryAddSingleton<RingFramePool>();
        services.TryAddSingleton<RingServer>();
        return services;
    }

    /// <summary>
    /// Serves the ring on <paramref name="address"/>:<paramref name="port"/> (cleartext HTTP/2 gRPC; port 0 picks a
    /// free one, see <see cref="RingListener.Endpoint"/>). The listener starts with the host, before hosted services
    /// registered after this call, and stops after them.
    /// </summary>
    public static IServiceCollection ListenRing(this IServiceCollection services, IPAddress address, int port) =>
        services.ListenRing(_ => new IPEndPoint(address, port));

    /// <summary>
    /// Serves the ring on the endpoint <paramref name="endpoint"/> computes when the host starts (after options
    /// validation, so a bad configured address fails with the validator's message).
    /// </summary>
    public static IServiceCollection ListenRing(this IServiceCollection services, Func<IServiceProvider, IPEndPoint> endpoint)
    {
        services.AddSingleton(sp => new RingListenerBinding(endpoint(sp)));
        services.TryAddSingleton<RingListener>();
        services.AddHostedService(sp => sp.GetRequiredService<RingListener>());
        return services;
    }
}

/// <summary>Where the ring listener binds.</summary>
public sealed record RingListenerBinding(IPEndPoint EndPoint);

/// <summary>
/// The ring port: a <see cref="GrpcStreamServer"/> whose connections pass <see cref="RingServer.AdmitAsync"/> (the
/// handshake) before HTTP/2, and which hands every predecessor stream to <see cref="RingServer"/>. Unless
/// <see cref="RingOptions.SameHostTransport"/> is <c>tcp</c>, a second one serves the same ring on a Unix domain
/// socket (<see cref="RingUnixSocket"/>) for predecessors on this host; the socket file goes when the listener stops.
/// </summary>
public sealed class RingListener(
    RingListenerBinding binding, RingServer server, RingFramePool pool, IOptions<RingOptions> options, ILogger<RingListener> logger) : IHostedService
{
    private GrpcStreamServer? _server;
    private GrpcStreamServer? _unix;

    /// <summary>
    /// The bound endpoint as a ring peer address (<c>http://127.0.0.1:port</c>; the wildcard becomes loopback), with the
    /// Unix socket's path as its <c>uds</c> query while the listener serves one (<see cref="RingPeerAddress"/>).
    /// </summary>
    public string Endpoint
    {
        get
        {
            var bound = _server?.LocalEndPoint ?? throw new InvalidOperationException("The ring listener has not started.");
            var host = bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any) ? IPAddress.Loopback : bound.Address;
            var tcp = $"http://{(host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host.ToString())}:{bound.Port}";
            return RingPeerAddress.Format(tcp, UnixSocketPath);
        }
    }

    /// <summary>The Unix socket the listener serves; null when it serves TCP only.</summary>
    public string? UnixSocketPath => _unix?.BoundEndPoint.ToString();

    /// <summary>Connections that passed the ring handshake and reached HTTP/2 since the listener started, over either transport.</summary>
    internal long Http2Connections => Http2ConnectionsOver(RingTransport.Tcp) + Http2ConnectionsOver(RingTransport.Unix);

    /// <summary>Connections that passed the ring handshake and reached HTTP/2 over <paramref name="transport"/>.</summary>
    internal long Http2ConnectionsOver(RingTransport transport) =>
        (transport == RingTransport.Unix ? _unix : _server)?.Http2Connections ?? 0;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var ring = options.Value;
        _server = Serve(binding.EndPoint, ring);
        _server.Start();
        if (ring.PrefersUnix && RingUnixSocket.PathFor(_server.LocalEndPoint.Port) is { } path)
        {
            try
            {
                RingUnixSocket.PrepareDirectory(path);
                _unix = Serve(new System.Net.Sockets.UnixDomainSocketEndPoint(path), ring);
                _unix.Start();
                RingLog.ListeningOnUnixSocket(logger, path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                RingLog.UnixSocketUnavailable(logger, path, ex.Message);
            }
        }

        return Task.CompletedTask;
    }

    private GrpcStreamServer Serve(EndPoint endpoint, RingOptions ring) =>
        new(endpoint, RingServer.Method, server.Stream, Limits(ring, pool), logger, server.AdmitAsync);

    /// <summary>What the ring port advertises and enforces on every connection.</summary>
    internal static GrpcStreamServerLimits Limits(RingOptions ring, RingFramePool pool) => new(
        WindowBytes: ring.Http2WindowBytes,
        MaxFrameBytes: 1 << 20,
        MaxMessageBytes: RingOptions.MaxFrameBytes + GrpcStreamClient.MaxHeadBytes + 16,
        BufferedMessages: 2,
        Pool: pool.Pool);

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_unix is not null)
        {
            await _unix.DisposeAsync().ConfigureAwait(false);
        }

        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Creates a round's <see cref="RingCollectives"/> and registers it with this trainer's ring server.</summary>
public sealed class RingCollectivesFactory(
    RingSessionRegistry registry, RingInstruments instruments, IOptions<RingOptions> options, TimeProvider time, ILoggerFactory loggers)
{
    /// <summary>
    /// Starts a round: creates its collectives and makes them the job's current ring session (replacing the previous
    /// round's). Dispose the result when the round ends.
    /// </summary>
    public RingCollectives Create(string jobId, long round, int rank, IReadOnlyList<string> peers, string jobSecret, Action<RingOptions>? adjust = null)
    {
        var effective = Clone(options.Value);
        adjust?.Invoke(effective);
        var session = new RingCollectives(
            jobId, round, rank, peers, jobSecret, effective, instruments, loggers.CreateLogger<RingCollectives>(), time, registry);
        registry.Register(session);
        return session;
    }

    /// <summary>Starts the round described by an assignment from the control plane.</summary>
    public RingCollectives Create(Assignment assignment, Action<RingOptions>? adjust = null)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        return Create(assignment.JobId, assignment.Round, assignment.Rank, assignment.Peers, assignment.JobSecret, adjust);
    }

    private static RingOptions Clone(RingOptions source) => new()
    {
        CollectiveTimeout = source.CollectiveTimeout,
        JoinTimeout = source.JoinTimeout,
        HandshakeTimeout = source.HandshakeTimeout,
        FrameBytes = source.FrameBytes,
        InboxFrames = source.InboxFrames,
        Http2WindowBytes = source.Http2WindowBytes,
        UseBf16 = source.UseBf16,
        SameHostTransport = source.SameHostTransport,
    };
}
