using System.Globalization;
using System.Net.Sockets;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed.Http2;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// Receiving end of the ring: authenticates every connection to the ring port with <see cref="RingHandshake"/> before
/// any HTTP/2 byte is read, then accepts the predecessor's stream for the current round of a job and hands its frames
/// to that round's <see cref="RingCollectives"/>. The stream's headers must repeat what the handshake authenticated;
/// job, round and sender are checked when the stream opens, before any frame is read; every frame's job and round
/// are checked again.
/// </summary>
public sealed class RingServer(
    RingSessionRegistry registry, RingInstruments instruments, IOptions<RingOptions> options, TimeProvider time, ILogger<RingServer> logger)
{
    /// <summary>
    /// Connections in the handshake at once, beyond which new ones are closed unread: a handshake may wait up to the
    /// join timeout for its round's session, and a trainer has one predecessor per job.
    /// </summary>
    internal const int MaxPendingHandshakes = 64;

    private int _pendingHandshakes;

    /// <summary>The gRPC method the ring port serves.</summary>
    public static readonly string Method = $"/{RingService.Descriptor.FullName}/Stream";

    /// <summary>
    /// The ring port's connection gate: runs the server end of <see cref="RingHandshake"/>; returns the authenticated
    /// <see cref="RingPeer"/>, or null (counted and logged) to have the connection closed without reading further.
    /// </summary>
    internal async Task<object?> AdmitAsync(Socket socket, CancellationToken cancellationToken)
    {
        var remote = RingSockets.Describe(socket);
        try
        {
            if (Interlocked.Increment(ref _pendingHandshakes) > MaxPendingHandshakes)
            {
                Refuse(remote, "handshake-backlog", $"{MaxPendingHandshakes} connections are already in the handshake");
                return null;
            }

            var ring = options.Value;
            RingCollectives? session = null;
            var outcome = await RingHandshakeSocket.AcceptAsync(socket, ring.HandshakeTimeout, time, async (claim, ct) =>
            {
                session = await registry.WaitForSessionAsync(claim.KeyId, claim.Round, ring.DeadlineOf(0), time, ct).ConfigureAwait(false);
                return session?.JobSecret;
            }, cancellationToken).ConfigureAwait(false);
            if (!outcome.Authenticated)
            {
                Refuse(remote, outcome.Reason!, outcome.Detail);
                return null;
            }

            return new RingPeer(outcome.Claim!, session!);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            Refuse(remote, "bad-handshake", ex.Message);
            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _pendingHandshakes);
        }
    }

    /// <summary>Handles one predecessor stream (<c>RingService.Stream</c>); returns the serialized <see cref="RingAck"/>.</summary>
    internal async Task<byte[]> Stream(GrpcServerCall call)
    {
        var remote = call.Peer;
        if (call.Identity is not RingPeer peer)
        {
            throw Reject(StatusCode.Unauthenticated, "unauthenticated", remote, "", -1, "", -1, "this connection did not pass the ring handshake");
        }

        var session = peer.Session;
        string? Header(string name) => call.Headers.TryGetValue(name, out var value) ? value : null;
        var job = Header(RingCollectives.JobHeader);
        if (string.IsNullOrEmpty(job)
            || !long.TryParse(Header(RingCollectives.RoundHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var round)
            || !int.TryParse(Header(RingCollectives.RankHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var senderRank))
        {
            throw Reject(StatusCode.Unauthenticated, "missing-headers", remote, job ?? "", -1, session.JobId, session.Round,
                $"a ring stream needs the {RingCollectives.JobHeader}, {RingCollectives.RoundHeader} and {RingCollectives.RankHeader} headers");
        }

        if (job != session.JobId || round != peer.Claim.Round || senderRank != peer.Claim.Rank)
        {
            throw Reject(StatusCode.Unauthenticated, "header-mismatch", remote, job, round, session.JobId, session.Round,
                $"the stream's headers (job {job} round {round} rank {senderRank}) differ from what its handshake authenticated (job {session.JobId} round {peer.Claim.Round} rank {peer.Claim.Rank})");
        }

        if (round < session.Round)
        {
            throw Reject(StatusCode.FailedPrecondition, "stale-round", remote, job, round, session.JobId, session.Round,
                $"round {round} is over; job {job} is in round {session.Round}");
        }

        if (round > session.Round)
        {
            throw Reject(StatusCode.Unavailable, "no-session", remote, job, round, session.JobId, session.Round,
                $"this trainer has no ring session for job {job} round {round} (its latest is round {session.Round})");
        }

        if (!session.TryAttachInbound(senderRank))
        {
            throw Reject(StatusCode.FailedPrecondition, "wrong-sender", remote, job, round, session.JobId, session.Round,
                $"rank {session.Rank} accepts one stream, from rank {(session.Rank + session.WorldSize - 1) % session.WorldSize}; got rank {senderRank}");
        }

        long frames = 0;
        try
        {
            while (await call.ReadAsync(call.CancellationToken).ConfigureAwait(false) is { } message)
            {
                var frame = InboundFrame.ParseOwned(message.Buffer, message.Length, call.Pool);
                if (frame.JobId != session.JobId || frame.Round != session.Round)
                {
                    frame.Release();
                    var reason = frame.JobId != session.JobId ? "other-job" : "stale-round";
                    throw Reject(StatusCode.FailedPrecondition, reason, remote, frame.JobId, frame.Round, session.JobId, session.Round,
                        $"frame from job {frame.JobId} round {frame.Round} does not belong to job {session.JobId} round {session.Round}");
                }

                try
                {
                    await session.DeliverAsync(frame, call.CancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    frame.Release();
                    throw;
                }

                frames++;
            }

            EndInbound(session, frames, null);
            return new RingAck { Frames = frames }.ToByteArray();
        }
        catch (Exception ex)
        {
            EndInbound(session, frames, ex);
            throw;
        }
    }

    private static void EndInbound(RingCollectives session, long frames, Exception? error)
    {
        // A stream that delivered nothing (a refused stray, or a peer that left before the first collective) leaves the
        // session untouched, so the real predecessor can still attach.
        if (frames == 0)
        {
            session.DetachInbound();
        }
        else
        {
            session.InboundEnded(error);
        }
    }

    private void Refuse(string remote, string reason, string detail)
    {
        instruments.RejectedFrames.Add(1, new KeyValuePair<string, object?>("reason", reason));
        RingLog.HandshakeRefused(logger, remote, reason, detail);
    }

    private RpcException Reject(StatusCode code, string reason, string remote, string frameJob, long frameRound, string job, long currentRound, string detail)
    {
        instruments.RejectedFrames.Add(1, new KeyValuePair<string, object?>("reason", reason));
        RingLog.Rejected(logger, "ring stream", remote, frameJob, frameRound, job, currentRound, reason);
        return new RpcException(new Status(code, detail));
    }
}

/// <summary>A ring connection's authenticated peer: what its handshake claimed, and the session whose secret it proved.</summary>
/// <param name="Claim">Job (key id), round and rank, covered by the handshake's MAC.</param>
/// <param name="Session">The job's session the secret was checked against.</param>
internal sealed record RingPeer(RingHandshake.Claim Claim, RingCollectives Session);

/// <summary>The pool received messages are assembled in; one per ring server.</summary>
public sealed class RingFramePool
{
    /// <summary>Buffers up to the largest frame (plus head and all-gather headroom), enough for every inbox slot of a few concurrent streams.</summary>
    internal System.Buffers.ArrayPool<byte> Pool { get; } = System.Buffers.ArrayPool<byte>.Create(RingOptions.MaxFrameBytes * 2, 1024);
}
