using GenCluster.Trainer.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Tests.Distributed;

public class RingOptionsTests
{
    [Theory]
    [InlineData("shm", true, true)]
    [InlineData("unix", true, false)]
    [InlineData("tcp", false, false)]
    [InlineData("UNIX", true, false)]
    [InlineData("Shm", true, true)]
    public void TheSameHostTransportIsShmUnixOrTcp(string value, bool unix, bool sharedMemory)
    {
        var options = new RingOptions { SameHostTransport = value };

        Assert.True(new RingOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(unix, options.PrefersUnix);
        Assert.Equal(sharedMemory, options.PrefersSharedMemory);
    }

    [Fact]
    public void SharedMemoryIsTheDefault() => Assert.Equal("shm", new RingOptions().SameHostTransport);

    [Theory]
    [InlineData("udp")]
    [InlineData("")]
    public void AnyOtherTransportIsRefusedNamingTheFieldAndTheValue(string value)
    {
        var result = new RingOptionsValidator().Validate(null, new RingOptions { SameHostTransport = value });

        var error = Assert.Single(result.Failures!);
        Assert.Contains("Ring:SameHostTransport", error, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfiguredTransportIsValidatedWhenTheRingIsResolved()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Ring:SameHostTransport"] = "pipes" }).Build();
        using var services = new ServiceCollection().AddLogging().AddGenClusterRing(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RingOptions>>().Value);

        Assert.Contains("Ring:SameHostTransport must be 'shm', 'unix' or 'tcp', got 'pipes'", error.Message, StringComparison.Ordinal);
    }
}
