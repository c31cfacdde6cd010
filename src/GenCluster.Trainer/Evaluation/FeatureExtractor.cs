using GenCluster.Trainer.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;
/// <summary>Runs <see cref="MnistFeatureClassifier"/> over images in batches, without gradients.</summary>
public static class FeatureExtractor
{
    /// <summary>Features and predictions of every image in <paramref name="images"/> (N × 1 × 28 × 28).</summary>
    public static FeatureSet Compute(MnistFeatureClassifier classifier, ImageArray images, int batchSize = 500)
    {
        if (images.Channels != 1 || images.Height != 28 || images.Width != 28)
            throw new ArgumentException($"images are {images.ShapeText}, expected (N, 1, 28, 28)", nameof(images));
        classifier.eval();
        using var noGrad = torch.no_grad();
        var predictions = new long[images.Count];
        var parts = new List<Tensor>();
        try
        {
            for (var start = 0; start < images.Count; start += batchSize)
            {
                var count = Math.Min(batchSize, images.Count - start);
                using var scope = torch.NewDisposeScope();
                using var batch = images.Batch(start, count);
                var features = classifier.Features(batch);
                var classes = classifier.Classify(features).argmax(1).data<long>().ToArray();
                classes.CopyTo(predictions, start);
                parts.Add(scope.MoveToOuter(features.to_type(ScalarType.Float64)));
            }
            var all = parts.Count == 0
                ? torch.zeros(0, MnistFeatureClassifier.FeatureSize, dtype: ScalarType.Float64)
                : torch.cat(parts, 0);
            return new FeatureSet(all, predictions);
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }
}
