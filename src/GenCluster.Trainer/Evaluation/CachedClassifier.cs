namespace GenCluster.Trainer.Evaluation;

/// <summary>A classifier loaded from (or just written to) the cache.</summary>
/// <param name="Model">The classifier, in evaluation mode.</param>
/// <param name="Card">Its card.</param>
/// <param name="Trained">True when it was trained by this call rather than loaded.</param>
public sealed record CachedClassifier(MnistFeatureClassifier Model, ClassifierCard Card, bool Trained) : IDisposable
{
    /// <summary>Disposes the model.</summary>
    public void Dispose() => Model.Dispose();
}
