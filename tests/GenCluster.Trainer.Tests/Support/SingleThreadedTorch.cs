using System.Runtime.CompilerServices;

// One test at a time: libtorch state is process-wide (thread count, the native allocator, dispose-scope statistics),
// and classes run in parallel corrupted each other's tensors in CI (a live-tensor test saw an integral tensor where a
// float one was, "Unknown scalar type") while passing alone.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

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
    internal static void Initialize()
    {
        // Before the first tensor: tests touch libtorch directly, not only through the trainer's code.
        GenCluster.Trainer.Hosting.OneDnnIsaCap.Apply();
        TorchSharp.torch.set_num_threads(1);
    }
#pragma warning restore CA2255
}
