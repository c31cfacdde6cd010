using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>float32 to bfloat16 with round-to-nearest-even (NaN kept NaN), vectorised.</summary>
    public static void ToBf16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        var bits = MemoryMarshal.Cast<float, uint>(src);
        if (dst.Length < bits.Length)
        {
            throw new ArgumentException($"dst: {dst.Length} halves for {bits.Length} floats.", nameof(dst));
        }

        ref var s = ref MemoryMarshal.GetReference(bits);
        ref var d = ref MemoryMarshal.GetReference(dst);
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= (nuint)bits.Length; i += 16)
            {
                var low = ToBf16(Vector256.LoadUnsafe(ref s, i));
                var high = ToBf16(Vector256.LoadUnsafe(ref s, i + 8));
                Vector256.Narrow(low, high).StoreUnsafe(ref d, i);
            }
        }

        for (; i < (nuint)bits.Length; i++)
        {
            Unsafe.Add(ref d, i) = ToBf16(Unsafe.Add(ref s, i));
        }
    }

    /// <summary>dst[i] += bf16 src[i] (accumulate) or dst[i] = bf16 src[i], vectorised.</summary>
    public static void FromBf16(ReadOnlySpan<ushort> src, Span<float> dst, bool accumulate)
    {
        if (dst.Length < src.Length)
        {
            throw new ArgumentException($"dst: {dst.Length} floats for {src.Length} halves.", nameof(dst));
        }

        ref var s = ref MemoryMarshal.GetReference(src);
        ref var d = ref MemoryMarshal.GetReference(dst);
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= (nuint)src.Length; i += 16)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref s, i));
                var lowFloats = (low << 16).AsSingle();
                var highFloats = (high << 16).AsSingle();
                if (accumulate)
                {
                    lowFloats += Vector256.LoadUnsafe(ref d, i);
                    highFloats += Vector256.LoadUnsafe(ref d, i + 8);
                }

                lowFloats.StoreUnsafe(ref d, i);
                highFloats.StoreUnsafe(ref d, i + 8);
            }
        }

        for (; i < (nuint)src.Length; i++)
        {
            var value = BitConverter.UInt32BitsToSingle((uint)Unsafe.Add(ref s, i) << 16);
            Unsafe.Add(ref d, i) = accumulate ? Unsafe.Add(ref d, i) + value : value;
        }
    }

    private static ushort ToBf16(uint bits)
    {
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u)
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>Eight floats' bits to bfloat16 in the low halves of eight lanes (the scalar rule, lane by lane).</summary>
    private static Vector256<uint> ToBf16(Vector256<uint> bits)
    {
        var nan = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256.Create(1u))) >> 16;
        var quiet = (bits >> 16) | Vector256.Create(0x40u);
        return Vector256.ConditionalSelect(nan, quiet, rounded);
    }
}
