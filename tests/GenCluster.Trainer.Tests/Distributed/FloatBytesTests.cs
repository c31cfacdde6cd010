using GenCluster.Trainer.Distributed;

namespace GenCluster.Trainer.Tests.Distributed;

public class FloatBytesTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(1001)]
    public void Bf16RoundsToNearestEvenInEveryLaneAndTheTail(int length)
    {
        var random = new Random(length + 7);
        var values = Enumerable.Range(0, length).Select(i => (i % 9) switch
        {
            0 => float.NaN,
            1 => float.PositiveInfinity,
            2 => -float.MaxValue,
            3 => BitConverter.UInt32BitsToSingle(0x3F80_8000u), // a tie between 1.0 and the next bf16: stays 1.0 (even)
            4 => BitConverter.UInt32BitsToSingle(0x3F81_8000u), // a tie that rounds up to the even neighbour
            5 => 1e-40f, // subnormal
            _ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30))),
        }).ToArray();
        var halves = new ushort[length];

        FloatKernels.ToBf16(values, halves);

        for (var i = 0; i < length; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(values[i]);
            if (float.IsNaN(values[i]))
            {
                Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)halves[i] << 16)), $"element {i}: NaN must stay NaN");
                continue;
            }

            var expected = (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
            Assert.True(expected == halves[i], $"element {i} ({values[i]:R}): expected 0x{expected:X4}, got 0x{halves[i]:X4}");
        }

        if (length > 4)
        {
            Assert.Equal(0x3F80, halves[3]);
            Assert.Equal(0x3F82, halves[4]);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FromBf16WidensAndOptionallyAccumulates(bool accumulate)
    {
        var halves = Enumerable.Range(0, 37).Select(i => (ushort)(0x3F80 + i)).ToArray();
        var target = Enumerable.Range(0, 37).Select(i => (float)i).ToArray();

        FloatKernels.FromBf16(halves, target, accumulate);

        for (var i = 0; i < halves.Length; i++)
        {
            var value = BitConverter.UInt32BitsToSingle((uint)halves[i] << 16);
            Assert.Equal(accumulate ? i + value : value, target[i]);
        }
    }

    [Fact]
    public void ShortDestinationsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => FloatKernels.ToBf16(new float[20], new ushort[19]));
        Assert.Throws<ArgumentException>(() => FloatKernels.FromBf16(new ushort[20], new float[19], accumulate: false));
    }
}
