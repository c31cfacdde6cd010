using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Distributed;

/// <summary>Tunables of the gRPC ring (config section <c>Ring</c>).</summary>
public sealed class RingOptions
{
    /// <summary>Configuration section the options bind from.</summary>
    public const string Section = "Ring";

    /// <summary>Largest <see cref="FrameBytes"/> accepted (4 MiB); received payloads are pooled up to this size.</summary>
    public const int MaxFrameBytes = 4 * 1024 * 1024;

    /// <summary>Longest one collective may take before it fails naming the peer it waits on. Default 60 s.</summary>
    public TimeSpan CollectiveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Deadline of a round's first collective and of a peer's wait for this rank's ring session, when longer than
    /// <see cref="CollectiveTimeout"/>: members join a round at different speeds (a fresh process loads its data set
    /// first), which a short collective deadline would mistake for a hang. Default zero: the collective timeout.
    /// </summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Longest a connecting peer may take to send its fixed-size handshake (<see cref="RingHandshake"/>) after the
    /// ring port accepts it; a silent or slow peer is dropped then. Default 5 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The deadline of collective number <paramref name="sequence"/> (0 = the round's first).</summary>
    public TimeSpan DeadlineOf(long sequence) => sequence == 0 && JoinTimeout > CollectiveTimeout ? JoinTimeout : CollectiveTimeout;

    /// <summary>
    /// Payload bytes per frame (one gRPC message). Default 1 MiB: on the 2-core loopback benchmark larger frames
    /// mean fewer messages and fewer hand-offs between the receiving, reducing and sending tasks (4 ranks: 10-25%
    /// more busbw than 256 KiB frames), while a 16 MiB all-reduce still splits into enough frames for receiving,
    /// reducing and forwarding to overlap. Frames above the 85,000-byte large-object threshold allocate nothing per
    /// message: the sender sends straight from the caller's buffer and the receiver assembles each message in a
    /// buffer pooled once per process.
    /// </summary>
    public int FrameBytes { get; set; } = 1024 * 1024;

    /// <summary>Frames a rank buffers from its predecessor before it stops reading its stream. Default 16 (16 MiB of default frames).</summary>
    public int InboxFrames { get; set; } = 16;

    /// <summary>HTTP/2 stream and connection receive windows, bytes. Default 16 MiB.</summary>
    public int Http2WindowBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Send all-reduce payloads as bfloat16 (half the bytes; relative error up to 2^-8 per rounding).
    /// Default false: float32, exact for exactly representable sums.
    /// </summary>
    public bool UseBf16 { get; set; }

    /// <summary>
    /// How ranks on the same host exchange. <c>shm</c> (default): when every rank of a round advertises the same IP
    /// address, the round's collectives go through shared memory (<see cref="SharedMemoryCollectives"/>), after the
    /// ranks prove over the ring that they map the same segment; otherwise, and for bf16 gradients, it behaves as
    /// <c>unix</c>. <c>unix</c>: listens on a Unix domain socket besides the TCP port, advertises its path with the ring
    /// endpoint, and sends over the successor's socket when both advertise the same IP address (falling back to TCP when
    /// it does not connect). <c>tcp</c> neither listens on nor uses Unix sockets. A round shares memory only if every
    /// rank says <c>shm</c>.
    /// </summary>
    public string SameHostTransport { get; set; } = "shm";

    /// <summary>Whether <see cref="SameHostTransport"/> is <c>unix</c> or <c>shm</c> (which uses Unix sockets where it cannot share memory).</summary>
    internal bool PrefersUnix => RingTransports.TryParse(SameHostTransport, out var transport) && transport is RingTransport.Unix or RingTransport.SharedMemory;

    /// <summary>Whether <see cref="SameHostTransport"/> is <c>shm</c>.</summary>
    internal bool PrefersSharedMemory => RingTransports.TryParse(SameHostTransport, out var transport) && transport == RingTransport.SharedMemory;
}

/// <summary>Checks <see cref="RingOptions"/>; messages name the configuration key and the value found.</summary>
public sealed class RingOptionsValidator : IValidateOptions<RingOptions>
{
    public ValidateOptionsResult Validate(string? name, RingOptions options)
    {
        var errors = new List<string>();
        if (options.CollectiveTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{RingOptions.Section}:{nameof(RingOptions.CollectiveTimeout)} must be positive, got {options.CollectiveTimeout}.");
        }

        if (options.JoinTimeout < TimeSpan.Zero)
        {
            errors.Add($"{RingOptions.Section}:{nameof(RingOptions.JoinTimeout)} must not be negative, got {options.JoinTimeout}.");
        }

        if (options.HandshakeTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{RingOptions.Section}:{nameof(RingOptions.HandshakeTimeout)} must be positive, got {options.HandshakeTimeout}.");
        }

        if (options.FrameBytes < 1024 || options.FrameBytes > RingOptions.MaxFrameBytes || options.FrameBytes % 8 != 0)
        {
            errors.Add($"{RingOptions.Section}:{nameof(RingOptions.FrameBytes)} must be a multiple of 8 in 1024..{RingOptions.MaxFrameBytes}, got {options.FrameBytes}.");
        }

        if (options.InboxFrames < 1)
        {
            errors.Add($"{RingOptions.Section}:{nameof(RingOptions.InboxFrames)} must be at least 1, got {options.InboxFrames}.");
        }

        if (options.Http2WindowBytes < 65_535)
        {
            errors.Add($"{RingOptions.Section}:{nameof(RingOptions.Http2WindowBytes)} must be at least 65535, got {options.Http2WindowBytes}.");
        }

        if (!RingTransports.TryParse(options.SameHostTransport, out _))
        {
            errors.Add($"{RingOptions.Section}:{nameof(RingOptions.SameHostTransport)} must be 'shm', 'unix' or 'tcp', got '{options.SameHostTransport}'.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
