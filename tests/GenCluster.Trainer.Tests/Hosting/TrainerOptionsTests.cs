using System.Net;
using GenCluster.Trainer.Cli;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Tests.Hosting;

public class TrainerOptionsTests
{
    [Fact]
    public void TheRingListensOnTheAdvertisedLoopbackAddressByDefault()
    {
        var options = new TrainerOptions();

        Assert.Equal(IPAddress.Loopback, options.RingBindAddress);
        Assert.NotEqual(IPAddress.Any, options.RingBindAddress);
        Assert.True(new TrainerOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("10.1.2.3", "", "10.1.2.3")]
    [InlineData("10.1.2.3", "127.0.0.1", "127.0.0.1")]
    [InlineData("trainer-0.example", "10.0.0.5", "10.0.0.5")]
    [InlineData("127.0.0.1", "0.0.0.0", "0.0.0.0")]
    [InlineData("127.0.0.1", "::1", "::1")]
    public void RingBindNamesTheAddressElseTheAdvertisedOneIs(string advertise, string bind, string expected)
    {
        var options = new TrainerOptions { AdvertiseHost = advertise, RingBind = bind };

        Assert.True(new TrainerOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(IPAddress.Parse(expected), options.RingBindAddress);
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("1")]
    [InlineData("10.0.5")]
    [InlineData("300.1.1.1")]
    [InlineData("10.0.0.5:7201")]
    public void ARingBindThatIsNotAnIpAddressIsRefusedNamingTheOptionAndValue(string bind)
    {
        var result = new TrainerOptionsValidator().Validate(null, new TrainerOptions { RingBind = bind });

        Assert.True(result.Failed);
        var error = Assert.Single(result.Failures!);
        Assert.Contains("Trainer:RingBind (--ring-bind)", error, StringComparison.Ordinal);
        Assert.Contains($"'{bind}'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAdvertisedHostNameNeedsAnExplicitRingBind()
    {
        var result = new TrainerOptionsValidator().Validate(null, new TrainerOptions { AdvertiseHost = "trainer-0.example" });

        var error = Assert.Single(result.Failures!);
        Assert.Contains("--ring-bind", error, StringComparison.Ordinal);
        Assert.Contains("'trainer-0.example'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTrainerHostBindsTheRingToTheConfiguredAddress()
    {
        using var app = BuildTrainer(new() { ["Trainer:AdvertiseHost"] = "127.0.0.1" });
        using var pinned = BuildTrainer(new() { ["Trainer:AdvertiseHost"] = "10.9.8.7", ["Trainer:RingBind"] = "127.0.0.1", ["Trainer:RingPort"] = "7301" });

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 7201), app.Services.GetRequiredService<RingListenerBinding>().EndPoint);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 7301), pinned.Services.GetRequiredService<RingListenerBinding>().EndPoint);
    }

    [Fact]
    public void TheTrainerHostRefusesABadRingBindWithTheValidatorsMessage()
    {
        using var app = BuildTrainer(new() { ["Trainer:RingBind"] = "localhost" });

        var error = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<RingListenerBinding>());

        Assert.Contains("Trainer:RingBind (--ring-bind) must be an IP address", error.Message, StringComparison.Ordinal);
        Assert.Contains("'localhost'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRunCommandTakesRingBind()
    {
        var parse = TrainerCli.Build().Parse(["run", "--ring-bind", "10.0.0.5"]);

        Assert.Empty(parse.Errors);
        Assert.Equal("10.0.0.5", parse.GetValue<string>("--ring-bind"));
    }

    [Fact]
    public void AConnectTimeoutMustBePositive()
    {
        var error = Assert.Single(new TrainerOptionsValidator().Validate(null, new TrainerOptions { ConnectTimeoutSeconds = 0 }).Failures!);

        Assert.Equal("Trainer:ConnectTimeoutSeconds must be > 0 (got 0)", error);
    }

    [Fact]
    public void TheTrainerAdvertisesItsRingSocketUnlessTheSameHostTransportIsTcp()
    {
        using var app = BuildTrainer(new() { ["Trainer:AdvertiseHost"] = "10.9.8.7", ["Trainer:RingBind"] = "127.0.0.1", ["Trainer:RingPort"] = "7301" });
        using var tcp = BuildTrainer(new() { ["Trainer:RingPort"] = "7301", ["Ring:SameHostTransport"] = "tcp" });

        var advertised = RingPeerAddress.Parse(app.Services.GetRequiredService<GenCluster.Contracts.Workers.WorkerInfo>().RingEndpoint);
        Assert.Equal(new RingPeerAddress("http://10.9.8.7:7301", "10.9.8.7", RingUnixSocket.PathFor(7301)), advertised);
        Assert.Contains($"ring-7301-{Environment.ProcessId}.sock", advertised.UnixSocketPath, StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:7301", tcp.Services.GetRequiredService<GenCluster.Contracts.Workers.WorkerInfo>().RingEndpoint);
    }

    private static WebApplication BuildTrainer(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Tls:Insecure"] = "true" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddGenClusterTrainer();
        return builder.Build();
    }
}
