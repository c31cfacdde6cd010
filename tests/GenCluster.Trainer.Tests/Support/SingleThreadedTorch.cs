using System.Runtime.CompilerServices;

namespace GenCluster.Trainer.Tests.Support;

/// <summary>
/// One libtorch intra-op thread for the whole test run. xUnit runs test classes in parallel in this one process and
/// libtorch's thread count is process-wide: a test class setting it while another test ran changed the split of that
/// test's reductions halfway, and with it the last bits of its sums, which exact-resume tests compare.
/// </summary>
internal static class SingleThreadedTorch
{
#pragma warning disable CA2255 // A test assembly's own start-up, not a library's.
    [ModuleInitializer]
    internal static void Initialize() => TorchSharp.torch.set_num_threads(1);
#pragma warning restore CA2255
}
