using System.Net.Sockets;
using GenCluster.Trainer.Distributed.Http2;
using Grpc.Core;

namespace GenCluster.Trainer.Distributed;

/// <summary>Runs <see cref="RingHandshake"/> over a connected socket, for either end.</summary>
internal static class RingHandshakeSocket
{
    /// <summary>
    /// The connecting end: reads the server's hello, answers it and checks the server's proof. Throws
    /// <see cref="RpcException"/> (<see cref="StatusCode.Unauthenticated"/>) when the server refuses this peer or fails
    /// to prove it belongs to the same job, <see cref="InvalidDataException"/> when it does not speak the handshake.
    /// </summary>
    public static async Task ConnectAsync(Socket socket, RingHandshake.Client client, string endpoint, CancellationToken cancellationToken)
    {
        var hello = new byte[RingHandshake.ServerHelloBytes];
        var got = await RingSockets.ReceiveExactlyAsync(socket, hello, cancellationToken).ConfigureAwait(false);
        if (got < hello.Length)
        {
            throw new IOException($"{endpoint} closed the connection after {got} of the {hello.Length} bytes of its ring handshake");
        }

        await RingSockets.SendAllAsync(socket, client.Answer(hello), cancellationToken).ConfigureAwait(false);
        var proof = new byte[RingHandshake.ServerProofBytes];
        try
        {
            got = await RingSockets.ReceiveExactlyAsync(socket, proof, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            got = 0;
        }

        if (got < proof.Length)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                $"{endpoint} refused the ring handshake: it holds another secret for this job, or had no ring session for the job within its join timeout"));
        }

        if (!client.Accepts(proof))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                $"{endpoint} could not prove it holds this job's secret: it is not a ring peer of this job"));
        }
    }

    /// <summary>
    /// The accepting end: sends a fresh hello, reads exactly one ClientHello within <paramref name="helloTimeout"/>,
    /// asks <paramref name="secretOf"/> for the secret of the job it claims (null: no such job here) and, when the
    /// client's MAC matches, sends the proof. Reads nothing past the ClientHello.
    /// </summary>
    public static async Task<RingHandshakeOutcome> AcceptAsync(
        Socket socket, TimeSpan helloTimeout, TimeProvider time, Func<RingHandshake.Claim, CancellationToken, Task<string?>> secretOf,
        CancellationToken cancellationToken)
    {
        var server = new RingHandshake.Server();
        var hello = new byte[RingHandshake.ClientHelloBytes];
        using (var deadline = new CancellationTokenSource(helloTimeout, time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token))
        {
            try
            {
                await RingSockets.SendAllAsync(socket, server.Hello, linked.Token).ConfigureAwait(false);
                var got = await RingSockets.ReceiveExactlyAsync(socket, hello, linked.Token).ConfigureAwait(false);
                if (got < hello.Length)
                {
                    return RingHandshakeOutcome.Refused("bad-handshake", null, $"closed the connection after {got} of the {hello.Length} handshake bytes");
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return RingHandshakeOutcome.Refused(
                    "handshake-timeout", null, $"sent no complete handshake ({hello.Length} bytes) within {helloTimeout.TotalSeconds:0.###} s");
            }
        }

        if (server.Read(hello) is not { } claim)
        {
            return RingHandshakeOutcome.Refused("bad-handshake", null, "its first bytes are not a ring handshake of version 1");
        }

        if (await secretOf(claim, cancellationToken).ConfigureAwait(false) is not { } secret)
        {
            return RingHandshakeOutcome.Refused("no-session", claim, $"this trainer has no ring session for the job it names (round {claim.Round})");
        }

        if (server.Prove(secret) is not { } proof)
        {
            return RingHandshakeOutcome.Refused("bad-secret", claim, "its handshake MAC does not match the job's secret (a wrong secret, or altered or replayed bytes)");
        }

        await RingSockets.SendAllAsync(socket, proof, cancellationToken).ConfigureAwait(false);
        return new RingHandshakeOutcome(claim, null, "authenticated");
    }
}

/// <summary>How the accepting end of a <see cref="RingHandshake"/> ended.</summary>
/// <param name="Claim">The client's claim, once read (authenticated only when <paramref name="Reason"/> is null).</param>
/// <param name="Reason">Null when the client is authenticated; else the rejection reason, as the metrics tag it.</param>
/// <param name="Detail">What happened, for the log.</param>
internal sealed record RingHandshakeOutcome(RingHandshake.Claim? Claim, string? Reason, string Detail)
{
    /// <summary>Whether the client proved it holds the job's secret.</summary>
    public bool Authenticated => Reason is null;

    public static RingHandshakeOutcome Refused(string reason, RingHandshake.Claim? claim, string detail) => new(claim, reason, detail);
}
