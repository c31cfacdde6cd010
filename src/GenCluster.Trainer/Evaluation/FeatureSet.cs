using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;

/// <summary>Classifier features and predicted classes of a set of images.</summary>
/// <param name="Features">float64 [N, 128]: the classifier's penultimate activations.</param>
/// <param name="Predictions">The arg-max class of each image.</param>
public sealed record FeatureSet(Tensor Features, long[] Predictions) : IDisposable
{
    /// <summary>Number of images.</summary>
    public int Count => Predictions.Length;

    /// <summary>Share of <see cref="Predictions"/> equal to <paramref name="labels"/>.</summary>
    public double Accuracy(IReadOnlyList<long> labels)
    {
        if (labels.Count != Count)
            throw new ArgumentException($"{labels.Count} labels for {Count} predictions", nameof(labels));
        var correct = 0;
        for (var i = 0; i < Count; i++)
            if (Predictions[i] == labels[i]) correct++;
        return Count == 0 ? 0 : (double)correct / Count;
    }

    /// <summary>Disposes <see cref="Features"/>.</summary>
    public void Dispose() => Features.Dispose();
}
