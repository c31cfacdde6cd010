using System.Text;
using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public class RingHandshakeTests
{
    private const string Job = "job-7";
    private const string Secret = "0123456789abcdef0123456789abcdef";

    [Fact]
    public void TheRightSecretPassesBothWaysAndTheClaimArrives()
    {
        var server = new RingHandshake.Server();
        var client = new RingHandshake.Client(Job, 12, 3, Secret);

        var claim = server.Read(client.Answer(server.Hello.Span));
        var proof = server.Prove(Secret);

        Assert.NotNull(claim);
        Assert.True(claim.IsFor(Job));
        Assert.False(claim.IsFor("job-8"));
        Assert.Equal((12L, 3), (claim.Round, claim.Rank));
        Assert.NotNull(proof);
        Assert.True(client.Accepts(proof));
    }

    [Fact]
    public void MessagesHaveTheirFixedSizesAndCarryNoSecret()
    {
        var server = new RingHandshake.Server();
        var hello = new RingHandshake.Client(Job, 1, 0, Secret).Answer(server.Hello.Span);
        server.Read(hello);

        Assert.Equal((40, 116, 32), (RingHandshake.ServerHelloBytes, RingHandshake.ClientHelloBytes, RingHandshake.ServerProofBytes));
        Assert.Equal(RingHandshake.ServerHelloBytes, server.Hello.Length);
        Assert.Equal(RingHandshake.ClientHelloBytes, hello.Length);
        Assert.Equal(RingHandshake.ServerProofBytes, server.Prove(Secret)!.Length);
        Assert.Equal(-1, hello.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Secret)));
        Assert.Equal(-1, hello.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Job)));
    }

    [Fact]
    public void EveryConnectionUsesFreshNonces()
    {
        var first = new RingHandshake.Server();
        var second = new RingHandshake.Server();
        var client = new RingHandshake.Client(Job, 1, 0, Secret);
        var again = new RingHandshake.Client(Job, 1, 0, Secret);

        Assert.False(first.Hello.Span.SequenceEqual(second.Hello.Span));
        Assert.False(client.Answer(first.Hello.Span).AsSpan().SequenceEqual(again.Answer(first.Hello.Span)));
    }

    [Fact]
    public void AWrongSecretFailsOnTheServer()
    {
        var server = new RingHandshake.Server();

        Assert.NotNull(server.Read(new RingHandshake.Client(Job, 1, 0, "not-the-secret").Answer(server.Hello.Span)));
        Assert.Null(server.Prove(Secret));
    }

    [Fact]
    public void AServerWithoutTheSecretCannotProveItself()
    {
        var client = new RingHandshake.Client(Job, 1, 0, Secret);
        var server = new RingHandshake.Server();
        var hello = client.Answer(server.Hello.Span);

        // An impostor server cannot compute the proof; what it could send instead: random bytes, the client's own MAC
        // reflected, or a real proof recorded from another connection of the same job.
        var other = new RingHandshake.Server();
        other.Read(new RingHandshake.Client(Job, 1, 0, Secret).Answer(other.Hello.Span));
        var recorded = other.Prove(Secret)!;

        Assert.False(client.Accepts(new byte[RingHandshake.ServerProofBytes]));
        Assert.False(client.Accepts(hello.AsSpan(hello.Length - RingHandshake.FieldBytes)));
        Assert.False(client.Accepts(recorded));
        Assert.False(client.Accepts(recorded.AsSpan(1)));
    }

    [Fact]
    public void AnotherJobsKeyIdDoesNotNameThisJobAndItsMacFailsHere()
    {
        var server = new RingHandshake.Server();
        var claim = server.Read(new RingHandshake.Client("another-job", 1, 0, Secret).Answer(server.Hello.Span))!;

        Assert.False(claim.IsFor(Job));
        Assert.Equal(RingHandshake.KeyIdOf("another-job"), claim.KeyId);
        Assert.NotEqual(RingHandshake.KeyIdOf(Job), claim.KeyId);
    }

    [Fact]
    public void AReplayedHelloFailsOnAnotherConnection()
    {
        var recordedOn = new RingHandshake.Server();
        var recorded = new RingHandshake.Client(Job, 1, 0, Secret).Answer(recordedOn.Hello.Span);
        var replayedTo = new RingHandshake.Server();

        Assert.NotNull(replayedTo.Read(recorded));
        Assert.Null(replayedTo.Prove(Secret));
    }

    [Fact]
    public void ChangingAnyBitOfTheHelloFails()
    {
        var server = new RingHandshake.Server();
        var hello = new RingHandshake.Client(Job, 5, 1, Secret).Answer(server.Hello.Span);
        bool Passes(byte[] bytes) => server.Read(bytes) is not null && server.Prove(Secret) is not null;
        for (var i = 0; i < hello.Length; i++)
        {
            var altered = (byte[])hello.Clone();
            altered[i] ^= 0x10;

            Assert.False(Passes(altered), $"byte {i} altered, still accepted");
        }

        Assert.True(Passes(hello));
    }

    [Fact]
    public void TruncatedPaddedOrForeignBytesAreNotAHello()
    {
        var server = new RingHandshake.Server();
        var hello = new RingHandshake.Client(Job, 1, 0, Secret).Answer(server.Hello.Span);
        var http2 = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray().Concat(new byte[RingHandshake.ClientHelloBytes]).Take(RingHandshake.ClientHelloBytes).ToArray();

        Assert.Null(server.Read(hello.AsSpan(0, hello.Length - 1)));
        Assert.Null(server.Read(hello.Concat(new byte[1]).ToArray()));
        Assert.Null(server.Read([]));
        Assert.Null(server.Read(http2));
    }

    [Fact]
    public void TheClientRefusesAServerThatDoesNotSpeakTheHandshake()
    {
        var client = new RingHandshake.Client(Job, 1, 0, Secret);
        var hello = new RingHandshake.Server().Hello.ToArray();
        var otherVersion = (byte[])hello.Clone();
        otherVersion[7] = 2;

        Assert.Throws<InvalidDataException>(() => client.Answer(new byte[RingHandshake.ServerHelloBytes]));
        Assert.Throws<InvalidDataException>(() => client.Answer(otherVersion));
        Assert.Throws<InvalidDataException>(() => client.Answer(hello.AsSpan(0, hello.Length - 1)));
        Assert.Contains("version 1", Assert.Throws<InvalidDataException>(() => client.Answer("HTTP/1.1 400 Bad Request\r\n\r\n..........."u8)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyIdsAreFixedWidthAndDependOnlyOnTheJob()
    {
        Assert.Equal(RingHandshake.FieldBytes, RingHandshake.KeyIdOf("j").Length);
        Assert.Equal(RingHandshake.FieldBytes, RingHandshake.KeyIdOf(new string('j', 10_000)).Length);
        Assert.Equal(RingHandshake.KeyIdOf(Job), RingHandshake.KeyIdOf(Job));
        Assert.NotEqual(RingHandshake.KeyIdOf(Job), RingHandshake.KeyIdOf(Job + " "));
    }
}
