using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GenCluster.Contracts.Ring;
using GenCluster.Trainer.Distributed.Http2;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// Receiving end of the ring: accepts the predecessor's stream for the current round of a job and hands its frames
/// to that round's <see cref="RingCollectives"/>. Credentials, job and round are checked when the stream opens,
/// before any frame is read; every frame's job and round are checked again.
/// </summary>
public sealed class RingServer(
    RingSessionRegistry registry, RingInstruments instruments, IOptions<RingOptions> options, TimeProvider time, ILogger<RingServer> logger)
{
    /// <summary>The gRPC method the ring port serves.</summary>
    public static readonly string Method = $"/{RingService.Descriptor.FullName}/Stream";

    /// <summary>Handles one predecessor stream (<c>RingService.Stream</c>); returns the serialized <see cref="RingAck"/>.</summary>
    internal async Task<byte[]> Stream(GrpcServerCall call)
    {
        var remote = call.Peer;
        string? Header(string name) => call.Headers.TryGetValue(name, out var value) ? value : null;
        var job = Header(RingCollectives.JobHeader);
        var secret = Header(RingCollectives.SecretHeader);
        if (string.IsNullOrEmpty(job) || string.IsNullOrEmpty(secret)
            || !long.TryParse(Header(RingCollectives.RoundHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var round)
            || !int.TryParse(Header(RingCollectives.RankHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var senderRank))
        {
            throw Reject(StatusCode.Unauthenticated, "missing-headers", remote, job ?? "", -1, "", -1,
                $"a ring stream needs the {RingCollectives.JobHeader}, {RingCollectives.RoundHeader}, {RingCollectives.RankHeader} and {RingCollectives.SecretHeader} headers");
        }

        var session = await registry.WaitForSessionAsync(job, round, options.Value.DeadlineOf(0), time, call.CancellationToken).ConfigureAwait(false)
            ?? throw Reject(StatusCode.Unavailable, "no-session", remote, job, round, job, -1,
                $"this trainer has no ring session for job {job} round {round}");

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(session.JobSecret)))
        {
            throw Reject(StatusCode.Unauthenticated, "bad-secret", remote, job, round, session.JobId, session.Round,
                $"wrong secret for job {job}");
        }

        if (round != session.Round)
        {
            throw Reject(StatusCode.FailedPrecondition, "stale-round", remote, job, round, session.JobId, session.Round,
                $"round {round} is over; job {job} is in round {session.Round}");
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

    private RpcException Reject(StatusCode code, string reason, string remote, string frameJob, long frameRound, string job, long currentRound, string detail)
    {
        instruments.RejectedFrames.Add(1, new KeyValuePair<string, object?>("reason", reason));
        RingLog.Rejected(logger, "ring stream", remote, frameJob, frameRound, job, currentRound, reason);
        return new RpcException(new Status(code, detail));
    }
}

/// <summary>The pool received messages are assembled in; one per ring server.</summary>
public sealed class RingFramePool
{
    /// <summary>Buffers up to the largest frame (plus head and all-gather headroom), enough for every inbox slot of a few concurrent streams.</summary>
    internal System.Buffers.ArrayPool<byte> Pool { get; } = System.Buffers.ArrayPool<byte>.Create(RingOptions.MaxFrameBytes * 2, 1024);
}
