using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GenCluster.Trainer.Distributed;

/// <summary>Views a float buffer as bytes without copying, so frames can wrap the caller's memory on send.</summary>
internal sealed class FloatBytesMemoryManager(Memory<float> floats) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(floats.Span);

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        var inner = floats.Pin();
        return new MemoryHandle((byte*)inner.Pointer + elementIndex, default, new InnerPin(inner));
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class InnerPin(MemoryHandle inner) : IPinnable
    {
        private MemoryHandle _inner = inner;

        public MemoryHandle Pin(int elementIndex) => throw new NotSupportedException("Pinned once by its owner.");

        public void Unpin() => _inner.Dispose();
    }
}

/// <summary>Element-wise kernels used by the ring.</summary>
internal static class FloatKernels
{
    /// <summary>dst[i] += src[i], vectorised.</summary>
    public static void AddInPlace(Span<float> dst, ReadOnlySpan<float> src)
    {
        var n = dst.Length;
        ref var d = ref MemoryMarshal.GetReference(dst);
        ref var s = ref MemoryMarshal.GetReference(src);
        nuint i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = (nuint)Vector<float>.Count;
            for (; i + width <= (nuint)n; i += width)
            {
                (Vector.LoadUnsafe(ref d, i) + Vector.LoadUnsafe(ref s, i)).StoreUnsafe(ref d, i);
            }
        }

        for (; i < (nuint)n; i++)
        {
            Unsafe.Add(ref d, i) += Unsafe.Add(ref s, i);
        }
    }

    /// <summary>dst[i] *= factor, vectorised.</summary>
    public static void Scale(Span<float> dst, float factor)
    {
        var n = dst.Length;
        ref var d = ref MemoryMarshal.GetReference(dst);
        nuint i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = (nuint)Vector<float>.Count;
            var f = new Vector<float>(factor);
            for (; i + width <= (nuint)n; i += width)
            {
                (Vector.LoadUnsafe(ref d, i) * f).StoreUnsafe(ref d, i);
            }
        }

        for (; i < (nuint)n; i++)
        {
            Unsafe.Add(ref d, i) *= factor;
        }
    }

    /// <summary>float32 to bfloat16 with round-to-nearest-even (NaN kept NaN).</summary>
    public static void ToBf16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        var bits = MemoryMarshal.Cast<float, uint>(src);
        for (var i = 0; i < bits.Length; i++)
        {
            var b = bits[i];
            if ((b & 0x7FFF_FFFFu) > 0x7F80_0000u)
            {
                dst[i] = (ushort)((b >> 16) | 0x40);
                continue;
            }

            var rounding = 0x7FFFu + ((b >> 16) & 1u);
            dst[i] = (ushort)((b + rounding) >> 16);
        }
    }

    /// <summary>dst[i] += bf16 src[i] (accumulate) or dst[i] = bf16 src[i].</summary>
    public static void FromBf16(ReadOnlySpan<ushort> src, Span<float> dst, bool accumulate)
    {
        for (var i = 0; i < src.Length; i++)
        {
            var value = BitConverter.UInt32BitsToSingle((uint)src[i] << 16);
            dst[i] = accumulate ? dst[i] + value : value;
        }
    }
}
