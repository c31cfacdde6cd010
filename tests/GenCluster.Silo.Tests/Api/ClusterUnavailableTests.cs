using GenCluster.Silo.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace GenCluster.Silo.Tests.Api;

public class ClusterUnavailableTests
{
    [Fact]
    public async Task ACallToAFailedSiloIs503WithRetryAfterAndTheCause()
    {
        var context = await RunAsync(new SiloUnavailableException("silo S10.77.0.3:11111:0 is unavailable"));

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Equal("2", context.Response.Headers.RetryAfter.ToString());
        context.Response.Body.Position = 0;
        var body = await new StreamReader(context.Response.Body).ReadToEndAsync();
        Assert.Contains("taking over from a failed silo", body, StringComparison.Ordinal);
        Assert.Contains("S10.77.0.3:11111:0", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherFailuresAreNotDisguised()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => RunAsync(new InvalidOperationException("a bug")));
    }

    [Theory]
    [InlineData(typeof(SiloUnavailableException), true)]
    [InlineData(typeof(OrleansMessageRejectionException), true)]
    [InlineData(typeof(TimeoutException), true)]
    [InlineData(typeof(ArgumentException), false)]
    public void TransientFailures(Type type, bool transient)
    {
        // OrleansMessageRejectionException's constructors are internal.
        var exception = (Exception)Activator.CreateInstance(type, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public |
            System.Reflection.BindingFlags.NonPublic, null, ["x"], null)!;

        Assert.Equal(transient, ClusterUnavailable.IsTransient(exception));
    }

    private static async Task<HttpContext> RunAsync(Exception thrown)
    {
        var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        var app = new ApplicationBuilder(services);
        app.UseClusterUnavailableAs503();
        app.Run(_ => throw thrown);
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        await app.Build()(context);
        return context;
    }
}
