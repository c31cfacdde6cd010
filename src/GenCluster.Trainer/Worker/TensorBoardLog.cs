using GenCluster.Trainer.Training;
using TorchSharp;

namespace GenCluster.Trainer.Worker;

/// <summary>
/// The job's TensorBoard event files (<c>&lt;run&gt;/tensorboard/</c>), written by rank 0: every step's metrics,
/// throughput and step time as scalars, and every sample grid as an image, so <c>tensorboard --logdir &lt;run&gt;/tensorboard</c>
/// shows the run like any other. Each event is written through to the file as it is added; each round opens a new
/// event file, which TensorBoard merges by step.
/// </summary>
public sealed class TensorBoardLog
{
    /// <summary>Directory under the run directory.</summary>
    public const string DirectoryName = "tensorboard";

    private readonly TorchSharp.Modules.SummaryWriter _writer;

    /// <summary>Opens a new event file under <paramref name="runDirectory"/>.</summary>
    public TensorBoardLog(string runDirectory)
    {
        var directory = Path.Combine(runDirectory, DirectoryName);
        Directory.CreateDirectory(directory);
        _writer = torch.utils.tensorboard.SummaryWriter(directory);
    }

    /// <summary>Scalars of a finished step: <c>metrics/&lt;name&gt;</c> for the recipe's finite metrics, <c>throughput/images_per_second</c>, <c>time/step_seconds</c>.</summary>
    public void Step(StepProgress progress)
    {
        var step = (int)progress.Step;
        foreach (var (name, value) in progress.Metrics)
            if (double.IsFinite(value)) _writer.add_scalar($"metrics/{name}", (float)value, step);
        _writer.add_scalar("throughput/images_per_second", (float)progress.ImagesPerSecond, step);
        _writer.add_scalar("time/step_seconds", (float)progress.StepSeconds, step);
    }

    /// <summary>
    /// A sample grid PNG at <paramref name="step"/>, under the tag <c>samples</c>; false (nothing written) when the file
    /// cannot be decoded — a picture missing from TensorBoard must not stop training.
    /// </summary>
    public bool Sample(string pngPath, long step)
    {
        try
        {
            _writer.add_img("samples", pngPath, (int)step);
            return true;
        }
        catch (Exception e) when (e is NullReferenceException or IOException)
        {
            // TorchSharp's decoder returns no bitmap for a file it cannot read.
            return false;
        }
    }
}
