using System.Text.RegularExpressions;

namespace GenCluster.Trainer.Hosting;

/// <summary>
/// MKL's conditional numerical reproducibility (<c>MKL_CBWR</c>) on CPUs with AVX-512. Without it, MKL's AVX-512
/// code paths may sum in an order that depends on the operands' memory alignment, so the same matrix product gave
/// different last bits depending on where libtorch happened to allocate. On an AMD family-26 machine that broke the
/// bit-exact overlap tests (DCGAN and WGAN, 1e-8 to 6e-8 apart) and BigGAN's sync-BatchNorm equivalence (0.0026
/// apart after 6 steps); with <c>MKL_CBWR=AVX2</c> all of them passed. An operator's own <c>MKL_CBWR</c> is left alone.
/// </summary>
public static partial class MklReproducibility
{
    /// <summary>The MKL variable.</summary>
    public const string Variable = "MKL_CBWR";

    /// <summary>The mode applied, or null when none was.</summary>
    public static string? Applied { get; private set; }

    /// <summary>The mode for a CPU described by <paramref name="cpuinfo"/>: <c>AVX2</c> where it has AVX-512, null otherwise. Pure.</summary>
    public static string? Decide(string cpuinfo, string? current) =>
        string.IsNullOrEmpty(current) && Avx512().IsMatch(cpuinfo) ? "AVX2" : null;

    /// <summary>Sets the mode this machine needs (Linux only; idempotent). <see cref="OneDnnIsaCap.Apply"/> calls it.</summary>
    public static void Apply()
    {
        if (Applied is not null || NativeEnvironment.CpuInfo() is not { } cpuinfo) return;
        if (Decide(cpuinfo, Environment.GetEnvironmentVariable(Variable)) is not { } mode) return;
        if (NativeEnvironment.SetIfUnset(Variable, mode)) Applied = mode;
    }

    [GeneratedRegex(@"^flags\s*:.*\bavx512f\b", RegexOptions.Multiline)]
    private static partial Regex Avx512();
}
