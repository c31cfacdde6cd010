using GenCluster.Trainer.Hosting;
using GenCluster.Trainer.Recipes.Autoencoder;
using GenCluster.Trainer.Tests.Recipes.Autoencoder;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Hosting;

public class OneDnnIsaCapTests
{
    private const string Zen5 = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n";

    [Theory]
    [InlineData(Zen5, null, "AVX")]
    [InlineData(Zen5, "", "AVX")]
    [InlineData(Zen5, "AVX512_CORE", null)]
    [InlineData("vendor_id\t: AuthenticAMD\ncpu family\t: 25\n", null, null)]
    [InlineData("vendor_id\t: GenuineIntel\ncpu family\t: 26\n", null, null)]
    [InlineData("", null, null)]
    public void CapsOnlyAmdFamily26AndLaterAndNeverOverridesTheOperator(string cpuinfo, string? current, string? expected) =>
        Assert.Equal(expected, OneDnnIsaCap.Decide(cpuinfo, current));

    /// <summary>
    /// The symptom the cap is for: a tiny VAE's decoder, run 300 times on the same input with gradients, must give
    /// finite values and gradients every time, the same from the second call on (on an affected CPU without the cap,
    /// most calls did not; the first call may pick its kernels differently).
    /// </summary>
    [Fact]
    public void ATinyDecoderIsFiniteAndRepeatableOnEveryCall()
    {
        using var recipe = (VaeRecipe)AutoencoderDataParallelTests.Recipe(AutoencoderDataParallelTests.Vae, 3, 1);
        var network = recipe.Network;
        float[]? second = null;
        var bad = new List<int>();
        for (var i = 0; i < 300; i++)
        {
            using var scope = NewDisposeScope();
            var images = torch.rand([6, 1, 8, 8], generator: new torch.Generator(7)).mul(2).sub(1);
            var decoded = network.Decode(network.Encode(images).Mean);
            decoded.square().mean().backward();
            var finite = decoded.isfinite().all().item<bool>() && network.parameters().All(p => p.grad is null || p.grad.isfinite().all().item<bool>());
            var values = decoded.data<float>().ToArray();
            if (i == 1) second = values;
            if (!finite || (second is not null && !values.SequenceEqual(second))) bad.Add(i);
            network.zero_grad();
        }
        Assert.True(bad.Count == 0, $"{bad.Count} of 300 calls non-finite or different from the second (e.g. {string.Join(", ", bad.Take(5))}); {OneDnnIsaCap.Variable}={Environment.GetEnvironmentVariable(OneDnnIsaCap.Variable)}");
    }
}

public class MklReproducibilityTests
{
    [Theory]
    [InlineData("flags\t\t: fpu sse avx2 avx512f avx512dq\n", null, "AVX2")]
    [InlineData("flags\t\t: fpu sse avx2 avx512f avx512dq\n", "COMPATIBLE", null)]
    [InlineData("flags\t\t: fpu sse avx2 fma\n", null, null)]
    [InlineData("", null, null)]
    public void AskedForOnlyWhereMklHasAvx512PathsAndNeverOverridesTheOperator(string cpuinfo, string? current, string? expected) =>
        Assert.Equal(expected, MklReproducibility.Decide(cpuinfo, current));
}
