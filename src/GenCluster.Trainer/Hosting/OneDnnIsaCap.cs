using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace GenCluster.Trainer.Hosting;

/// <summary>
/// Caps oneDNN, libtorch's convolution library on the CPU, at AVX (no AVX2) on CPUs where its AVX2 and AVX-512 kernels were
/// seen to give wrong numbers: AMD family 26 (Zen 5; an "AMD EPYC" virtual machine). There a small VAE's decoder
/// (<c>ConvTranspose2d</c>) returned non-finite values for the same input on some calls and not others, so training
/// skipped steps and data-parallel runs diverged from their single-worker twins. Capped at AVX2, the VAE was fixed but
/// small VQ-VAEs still skipped steps in 3 runs of 3; capped at AVX or SSE4.1, none did in 3 of 3. The cap costs some
/// convolution speed (a width-32 DCGAN step on one thread: 61.8 ms uncapped, 70.1 at AVX, 107.4 at SSE4.1). An operator's own
/// <c>ONEDNN_MAX_CPU_ISA</c> is left as it is.
/// </summary>
/// <remarks>
/// oneDNN reads the variable from the native environment once, at its first kernel, so the cap is set with
/// <c>setenv</c> when this assembly loads, before any tensor work; the managed copy is set too, for child processes.
/// </remarks>
public static partial class OneDnnIsaCap
{
    /// <summary>The oneDNN variable.</summary>
    public const string Variable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>The cap applied, or null when none was (another CPU, or the operator set the variable).</summary>
    public static string? Applied { get; private set; }

    /// <summary>
    /// The cap for a CPU described by <paramref name="cpuinfo"/> (the text of <c>/proc/cpuinfo</c>) when the variable's
    /// current value is <paramref name="current"/>: <c>AVX</c> for AMD family 26 and later, null otherwise. Pure.
    /// </summary>
    public static string? Decide(string cpuinfo, string? current)
    {
        if (!string.IsNullOrEmpty(current)) return null;
        var vendor = Vendor().Match(cpuinfo);
        var family = Family().Match(cpuinfo);
        return vendor.Success && vendor.Groups[1].Value == "AuthenticAMD" && family.Success && int.Parse(family.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 26
            ? "AVX"
            : null;
    }

    /// <summary>Applies the cap this machine needs, and MKL's reproducible mode (Linux only; idempotent).</summary>
    public static void Apply()
    {
        MklReproducibility.Apply();
        if (Applied is not null || NativeEnvironment.CpuInfo() is not { } cpuinfo) return;
        if (Decide(cpuinfo, Environment.GetEnvironmentVariable(Variable)) is not { } cap) return;
        if (NativeEnvironment.SetIfUnset(Variable, cap)) Applied = cap;
    }

#pragma warning disable CA2255 // Must run before the first tensor of any code in or calling into this assembly.
    [ModuleInitializer]
    internal static void Initialize() => Apply();
#pragma warning restore CA2255

    [GeneratedRegex(@"^vendor_id\s*:\s*(\S+)", RegexOptions.Multiline)]
    private static partial Regex Vendor();

    [GeneratedRegex(@"^cpu family\s*:\s*(\d+)", RegexOptions.Multiline)]
    private static partial Regex Family();
}
