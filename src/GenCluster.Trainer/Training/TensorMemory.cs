using System.Buffers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>
/// Exposes a contiguous float32 CPU tensor's storage as <see cref="Memory{T}"/> without copying, so collectives
/// read and write the tensor in place. The tensor must outlive every use of the memory.
/// </summary>
internal sealed unsafe class TensorMemory : MemoryManager<float>
{
    private readonly Tensor _tensor;

    public TensorMemory(Tensor tensor)
    {
        if (tensor.dtype != ScalarType.Float32 || tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException($"expected a contiguous float32 CPU tensor, got {tensor.dtype} on {tensor.device}", nameof(tensor));
        _tensor = tensor;
    }

    public override Span<float> GetSpan() => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_tensor.bytes);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        var span = GetSpan();
        fixed (float* first = span)
            return new MemoryHandle(first + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
