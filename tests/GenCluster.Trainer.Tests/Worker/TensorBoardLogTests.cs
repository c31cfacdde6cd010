using System.Buffers.Binary;
using System.Text;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Tests.Support;
using GenCluster.Trainer.Training;
using GenCluster.Trainer.Worker;

namespace GenCluster.Trainer.Tests.Worker;

public class TensorBoardLogTests
{
    [Fact]
    public void StepsAndSampleGridsLandInAWellFramedEventFile()
    {
        using var temp = RepoPaths.NewTemp();
        var png = Path.Combine(temp.Path, "grid.png");
        PngWriter.WriteGrayscale(png, 4, 2, [0, 50, 100, 150, 200, 250, 255, 0]);
        var garbage = Path.Combine(temp.Path, "not-a.png");
        File.WriteAllBytes(garbage, [1, 2, 3]);
        var log = new TensorBoardLog(temp.Path);
        for (var step = 1; step <= 3; step++)
            log.Step(new StepProgress(step, 0, [new("loss_d", 0.5 * step), new("nll_top_bits", double.NaN)], 100 + step, 0.25, false, 0));
        Assert.True(log.Sample(png, 3));
        Assert.False(log.Sample(garbage, 3));

        var file = Assert.Single(Directory.GetFiles(Path.Combine(temp.Path, TensorBoardLog.DirectoryName)));
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(file));
        // TFRecord framing: u64 length, u32 CRC of it, payload, u32 CRC — read record by record to the end.
        var bytes = File.ReadAllBytes(file);
        var records = new List<byte[]>();
        for (var offset = 0; offset < bytes.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset));
            Assert.InRange(offset + 12 + length + 4, 0, bytes.Length);
            records.Add(bytes.AsSpan(offset + 12, length).ToArray());
            offset += 12 + length + 4;
        }
        string Text(byte[] r) => Encoding.Latin1.GetString(r);
        // A file-version record, 3 steps × (loss_d, images/s, step time) — the NaN metric left out — and one image.
        Assert.Equal(3, records.Count(r => Text(r).Contains("metrics/loss_d")));
        Assert.DoesNotContain(records, r => Text(r).Contains("nll_top_bits"));
        Assert.Equal(3, records.Count(r => Text(r).Contains("throughput/images_per_second")));
        Assert.Equal(3, records.Count(r => Text(r).Contains("time/step_seconds")));
        // The grid travels as an encoded PNG (its signature inside the one image record).
        var image = Assert.Single(records, r => Text(r).Contains("samples"));
        Assert.Contains("\x89PNG", Text(image));
    }
}
