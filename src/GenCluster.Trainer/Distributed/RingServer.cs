using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GenCluster.Contracts.Ring;
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
    /// <summary>Handles one predecessor stream (<c>RingService.Stream</c>).</summary>
    internal async Task<RingAck> Stream(IAsyncStreamReader<InboundFrame> requestStream, ServerCallContext context)
    {
        var remote = context.Peer;
        var headers = context.RequestHeaders;
        var job = headers.GetValue(RingCollectives.JobHeader);
        var secret = headers.GetValue(RingCollectives.SecretHeader);
        if (string.IsNullOrEmpty(job) || string.IsNullOrEmpty(secret)
            || !long.TryParse(headers.GetValue(RingCollectives.RoundHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var round)
            || !int.TryParse(headers.GetValue(RingCollectives.RankHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var senderRank))
        {
            throw Reject(StatusCode.Unauthenticated, "missing-headers", remote, job ?? "", -1, "", -1,
                $"a ring stream needs the {RingCollectives.JobHeader}, {RingCollectives.RoundHeader}, {RingCollectives.RankHeader} and {RingCollectives.SecretHeader} headers");
        }

        var session = await registry.WaitForSessionAsync(job, round, options.Value.DeadlineOf(0), time, context.CancellationToken).ConfigureAwait(false)
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
            while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                var frame = requestStream.Current;
                if (frame.JobId != session.JobId || frame.Round != session.Round)
                {
                    frame.Release();
                    var reason = frame.JobId != session.JobId ? "other-job" : "stale-round";
                    throw Reject(StatusCode.FailedPrecondition, reason, remote, frame.JobId, frame.Round, session.JobId, session.Round,
                        $"frame from job {frame.JobId} round {frame.Round} does not belong to job {session.JobId} round {session.Round}");
                }

                try
                {
                    await session.DeliverAsync(frame, context.CancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    frame.Release();
                    throw;
                }

                frames++;
            }

            EndInbound(session, frames, null);
            return new RingAck { Frames = frames };
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

/// <summary>
/// Binds <c>gencluster.ring.RingService/Stream</c> to <see cref="RingServer"/> with a marshaller that receives
/// payloads into pooled buffers (the generated one allocates a new array per frame).
/// </summary>
internal sealed class RingServerMethodProvider(RingFramePool pool) : Grpc.AspNetCore.Server.Model.IServiceMethodProvider<RingServer>
{
    public void OnServiceMethodDiscovery(Grpc.AspNetCore.Server.Model.ServiceMethodProviderContext<RingServer> context)
    {
        var method = new Method<InboundFrame, RingAck>(
            MethodType.ClientStreaming,
            RingService.Descriptor.FullName,
            "Stream",
            InboundFrame.CreateMarshaller(pool.Pool),
            Marshallers.Create(ack => ack.ToByteArray(), RingAck.Parser.ParseFrom));
        context.AddClientStreamingMethod(method, [], (server, reader, call) => server.Stream(reader, call));
    }
}

/// <summary>The pool received payloads are copied into; one per ring server.</summary>
public sealed class RingFramePool
{
    /// <summary>Buffers up to the largest frame (plus all-gather headroom), enough for every inbox slot of a few concurrent streams.</summary>
    internal System.Buffers.ArrayPool<byte> Pool { get; } = System.Buffers.ArrayPool<byte>.Create(RingOptions.MaxFrameBytes * 2, 1024);
}
