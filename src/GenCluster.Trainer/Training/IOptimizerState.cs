using System.Reflection;
using GenCluster.Trainer.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>
/// An optimiser's state as a checkpoint holds it: whole (every parameter) and in TorchSharp's optimiser format
/// (<c>OptimizerHelper.save_state_dict</c>), however the ranks hold it while they train.
/// </summary>
public interface IOptimizerState
{
    /// <summary>Bytes of optimiser state this rank holds (moments and the like; not the parameters or their gradients).</summary>
    long StateBytes { get; }

    /// <summary>Called on every rank before a checkpoint: brings the whole state to rank 0, the writer (nothing to do where every rank holds it whole).</summary>
    void GatherForCheckpoint(ICollectives collectives, CancellationToken cancellationToken);

    /// <summary>Writes the whole state (on rank 0, after <see cref="GatherForCheckpoint"/>).</summary>
    void Save(BinaryWriter writer);

    /// <summary>Reads a whole state, whether a sharded or a replicated optimiser wrote it and at any world size; keeps what this rank holds.</summary>
    void Load(BinaryReader reader);
}

/// <summary>A TorchSharp optimiser that every rank holds whole and steps on the all-reduced gradients (DDP).</summary>
public sealed class ReplicatedOptimizerState(OptimizerHelper optimizer) : IOptimizerState
{
    /// <summary>The optimiser.</summary>
    public OptimizerHelper Optimizer { get; } = optimizer;

    /// <inheritdoc />
    public long StateBytes => BytesOf(Optimizer);

    /// <inheritdoc />
    public void GatherForCheckpoint(ICollectives collectives, CancellationToken cancellationToken)
    {
    }

    /// <inheritdoc />
    public void Save(BinaryWriter writer) => Optimizer.save_state_dict(writer);

    /// <inheritdoc />
    public void Load(BinaryReader reader) => Optimizer.load_state_dict(reader);

    /// <summary>The bytes of every tensor in the per-parameter states of <paramref name="optimizer"/> (TorchSharp keeps them in public fields).</summary>
    public static long BytesOf(OptimizerHelper optimizer)
    {
        long bytes = 0;
        foreach (var state in optimizer.state_dict().State)
        {
            foreach (var field in state.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                if (field.FieldType == typeof(Tensor) && field.GetValue(state) is Tensor { IsInvalid: false } tensor)
                    bytes += tensor.numel() * tensor.element_size();
            }
        }
        return bytes;
    }
}
