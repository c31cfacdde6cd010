using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// The fixed-size mutual authentication that opens every ring connection, before any HTTP/2 byte. Pure: it builds
/// and checks messages; the socket side is <see cref="RingHandshakeSocket"/>.
/// </summary>
/// <remarks>
/// <code>
/// server -> client  ServerHello  40 B  magic "GCRING" 0x00 0x01 | server nonce (32)
/// client -> server  ClientHello 116 B  magic | key id (32) | client nonce (32) | round (int64 BE) | rank (int32 BE) | MAC_C (32)
/// server -> client  ServerProof  32 B  MAC_S
///
/// key id = SHA-256("gencluster-ring-key-v1" 0x00 | UTF-8 job id)
/// T      = server nonce | key id | client nonce | round | rank
/// MAC_C  = HMAC-SHA256(UTF-8 job secret, "gencluster-ring-v1" | 'C' | T)
/// MAC_S  = HMAC-SHA256(UTF-8 job secret, "gencluster-ring-v1" | 'S' | T)
/// </code>
/// The key id names the job (so the server knows which secret to check) without revealing the secret; the server
/// nonce makes a recorded ClientHello useless on any other connection, the client nonce does the same for the
/// ServerProof, and the role byte stops either MAC from being reflected as the other. Every field has a fixed width,
/// so the server reads exactly 116 bytes and allocates nothing a peer's bytes could size.
/// </remarks>
internal static class RingHandshake
{
    /// <summary>Bytes of a nonce, a key id and a MAC.</summary>
    public const int FieldBytes = 32;

    /// <summary>Size of the server's opening message.</summary>
    public const int ServerHelloBytes = 8 + FieldBytes;

    /// <summary>Size of the client's answer.</summary>
    public const int ClientHelloBytes = 8 + FieldBytes + FieldBytes + sizeof(long) + sizeof(int) + FieldBytes;

    /// <summary>Size of the server's proof.</summary>
    public const int ServerProofBytes = FieldBytes;

    private const int ClaimBytes = FieldBytes + FieldBytes + sizeof(long) + sizeof(int);

    /// <summary>"GCRING", then the protocol version (1) as a big-endian 16-bit number.</summary>
    private static ReadOnlySpan<byte> Magic => [(byte)'G', (byte)'C', (byte)'R', (byte)'I', (byte)'N', (byte)'G', 0x00, 0x01];

    private static ReadOnlySpan<byte> MacLabel => "gencluster-ring-v1"u8;

    private static ReadOnlySpan<byte> KeyLabel => "gencluster-ring-key-v1\0"u8;

    /// <summary>The key id of <paramref name="jobId"/>: which secret to check, not the secret.</summary>
    public static byte[] KeyIdOf(string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var job = Encoding.UTF8.GetBytes(jobId);
        var input = new byte[KeyLabel.Length + job.Length];
        KeyLabel.CopyTo(input);
        job.CopyTo(input, KeyLabel.Length);
        return SHA256.HashData(input);
    }

    /// <summary>What a client claims in its hello: the job (as its key id), the round and its rank.</summary>
    /// <param name="KeyId">SHA-256 key id of the job, <see cref="FieldBytes"/> long.</param>
    /// <param name="Round">The round the client is in.</param>
    /// <param name="Rank">The client's rank in that round.</param>
    public sealed record Claim(byte[] KeyId, long Round, int Rank)
    {
        /// <summary>Whether this claim names <paramref name="jobId"/>.</summary>
        public bool IsFor(string jobId) => KeyId.AsSpan().SequenceEqual(KeyIdOf(jobId));
    }

    /// <summary>The connecting side: answers the server's hello and checks its proof.</summary>
    public sealed class Client
    {
        private readonly byte[] _secret;
        private readonly byte[] _clientNonce = RandomNumberGenerator.GetBytes(FieldBytes);
        private readonly Claim _claim;
        private byte[]? _serverNonce;

        /// <summary>A client of <paramref name="jobId"/> in <paramref name="round"/> as <paramref name="rank"/>.</summary>
        public Client(string jobId, long round, int rank, string secret)
        {
            ArgumentException.ThrowIfNullOrEmpty(secret);
            _claim = new Claim(KeyIdOf(jobId), round, rank);
            _secret = Encoding.UTF8.GetBytes(secret);
        }

        /// <summary>The ClientHello answering <paramref name="serverHello"/>.</summary>
        /// <exception cref="InvalidDataException">The server's hello is not a ring hello of this version.</exception>
        public byte[] Answer(ReadOnlySpan<byte> serverHello)
        {
            if (serverHello.Length != ServerHelloBytes || !serverHello[..Magic.Length].SequenceEqual(Magic))
            {
                throw new InvalidDataException(
                    $"the peer's first {serverHello.Length} bytes are not a ring handshake of version 1 (expected the {ServerHelloBytes}-byte hello starting 'GCRING' 0x00 0x01)");
            }

            _serverNonce = serverHello[Magic.Length..].ToArray();
            var hello = new byte[ClientHelloBytes];
            Magic.CopyTo(hello);
            var claim = hello.AsSpan(Magic.Length, ClaimBytes);
            WriteClaim(claim, _claim, _clientNonce);
            Mac(_secret, 'C', _serverNonce, claim, hello.AsSpan(Magic.Length + ClaimBytes));
            return hello;
        }

        /// <summary>Whether <paramref name="proof"/> shows the server holds the same job secret, for this connection.</summary>
        public bool Accepts(ReadOnlySpan<byte> proof)
        {
            if (_serverNonce is null)
            {
                throw new InvalidOperationException("Answer the server's hello before checking its proof.");
            }

            Span<byte> claim = stackalloc byte[ClaimBytes];
            WriteClaim(claim, _claim, _clientNonce);
            Span<byte> expected = stackalloc byte[FieldBytes];
            Mac(_secret, 'S', _serverNonce, claim, expected);
            return proof.Length == ServerProofBytes && CryptographicOperations.FixedTimeEquals(proof, expected);
        }
    }

    /// <summary>The accepting side: sends a fresh hello, reads the client's claim, checks its MAC and proves itself.</summary>
    public sealed class Server
    {
        private readonly byte[] _hello = new byte[ServerHelloBytes];
        private byte[]? _received;

        /// <summary>A server side with a fresh random nonce.</summary>
        public Server()
        {
            Magic.CopyTo(_hello);
            RandomNumberGenerator.Fill(_hello.AsSpan(Magic.Length));
        }

        /// <summary>The ServerHello to send first.</summary>
        public ReadOnlyMemory<byte> Hello => _hello;

        /// <summary>
        /// Reads the claim of a ClientHello (not yet authenticated: check it with <see cref="Prove"/>); null when the
        /// bytes are not a ClientHello of this version.
        /// </summary>
        public Claim? Read(ReadOnlySpan<byte> clientHello)
        {
            if (clientHello.Length != ClientHelloBytes || !clientHello[..Magic.Length].SequenceEqual(Magic))
            {
                return null;
            }

            _received = clientHello.ToArray();
            var claim = clientHello.Slice(Magic.Length, ClaimBytes);
            return new Claim(
                claim[..FieldBytes].ToArray(),
                BinaryPrimitives.ReadInt64BigEndian(claim[(2 * FieldBytes)..]),
                BinaryPrimitives.ReadInt32BigEndian(claim[((2 * FieldBytes) + sizeof(long))..]));
        }

        /// <summary>
        /// Checks the ClientHello's MAC against <paramref name="secret"/> in fixed time; returns the ServerProof to send
        /// when it matches, null when it does not (wrong secret, altered or replayed bytes).
        /// </summary>
        public byte[]? Prove(string secret)
        {
            if (_received is null)
            {
                throw new InvalidOperationException("Read the client's hello before checking it.");
            }

            var key = Encoding.UTF8.GetBytes(secret);
            var claim = _received.AsSpan(Magic.Length, ClaimBytes);
            Span<byte> expected = stackalloc byte[FieldBytes];
            Mac(key, 'C', _hello.AsSpan(Magic.Length), claim, expected);
            if (!CryptographicOperations.FixedTimeEquals(_received.AsSpan(Magic.Length + ClaimBytes), expected))
            {
                return null;
            }

            var proof = new byte[ServerProofBytes];
            Mac(key, 'S', _hello.AsSpan(Magic.Length), claim, proof);
            return proof;
        }
    }

    /// <summary>key id | client nonce | round | rank, as both MACs and the ClientHello carry it.</summary>
    private static void WriteClaim(Span<byte> destination, Claim claim, ReadOnlySpan<byte> clientNonce)
    {
        claim.KeyId.CopyTo(destination);
        clientNonce.CopyTo(destination[FieldBytes..]);
        BinaryPrimitives.WriteInt64BigEndian(destination[(2 * FieldBytes)..], claim.Round);
        BinaryPrimitives.WriteInt32BigEndian(destination[((2 * FieldBytes) + sizeof(long))..], claim.Rank);
    }

    /// <summary>HMAC-SHA256(key, label | role | server nonce | key id | client nonce | round | rank).</summary>
    private static void Mac(ReadOnlySpan<byte> key, char role, ReadOnlySpan<byte> serverNonce, ReadOnlySpan<byte> claim, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[MacLabel.Length + 1 + FieldBytes + ClaimBytes];
        MacLabel.CopyTo(input);
        input[MacLabel.Length] = (byte)role;
        serverNonce.CopyTo(input[(MacLabel.Length + 1)..]);
        claim.CopyTo(input[(MacLabel.Length + 1 + FieldBytes)..]);
        HMACSHA256.HashData(key, input, destination);
    }
}
