using GenCluster.Trainer.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>
/// Copies rank 0's parameters and/or buffers to every rank. This is also the single place that states the policy for
/// state gradients do not synchronise.
/// </summary>
/// <remarks>
/// <para><b>BatchNorm running statistics policy (DDP's default):</b> running mean/variance and
/// <c>num_batches_tracked</c> are updated by each rank from its own batches and are not all-reduced per step
/// (training-mode BatchNorm normalises with batch statistics, so they never affect the gradients). They are
/// broadcast from rank 0 at round start and before every checkpoint and sample grid, so what is saved and shown is
/// rank 0's, and every rank resumes from the same values.</para>
/// <para>Parameters are broadcast only at round start; afterwards identical averaged gradients and identical Adam
/// states keep them equal.</para>
/// </remarks>
public static class ModelStateSync
{
    /// <summary>Broadcasts rank 0's parameters and buffers (round start).</summary>
    public static Task BroadcastParametersAndBuffersAsync(ICollectives collectives, nn.Module module, CancellationToken cancellationToken) =>
        BroadcastAsync(collectives, [.. module.parameters(), .. module.buffers()], cancellationToken);

    /// <summary>Broadcasts rank 0's buffers (BatchNorm running statistics) before a checkpoint or sample.</summary>
    public static Task BroadcastBuffersAsync(ICollectives collectives, nn.Module module, CancellationToken cancellationToken) =>
        BroadcastAsync(collectives, [.. module.buffers()], cancellationToken);

    private static async Task BroadcastAsync(ICollectives collectives, IReadOnlyList<Tensor> tensors, CancellationToken cancellationToken)
    {
        if (collectives.WorldSize == 1 || tensors.Count == 0) return;
        var total = tensors.Sum(t => t.numel());
        using var flat = torch.empty(total, ScalarType.Float32);
        using (torch.no_grad())
        {
            long offset = 0;
            foreach (var t in tensors)
            {
                using var slice = flat.narrow(0, offset, t.numel());
                using var source = t.reshape(-1);
                // Integer buffers (num_batches_tracked) round-trip exactly through float32 below 2^24.
                slice.copy_(source);
                offset += t.numel();
            }
        }
        var memory = new TensorMemory(flat).Memory;
        await collectives.BroadcastAsync(memory, root: 0, cancellationToken);
        using (torch.no_grad())
        {
            long offset = 0;
            foreach (var t in tensors)
            {
                using var slice = flat.narrow(0, offset, t.numel());
                using var shaped = slice.view(t.shape);
                t.copy_(shaped);
                offset += t.numel();
            }
        }
    }
}
