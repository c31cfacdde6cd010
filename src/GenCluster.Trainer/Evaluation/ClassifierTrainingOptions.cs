namespace GenCluster.Trainer.Evaluation;

/// <summary>How the feature classifier is trained. Changing any value retrains the cached classifier.</summary>
public sealed record ClassifierTrainingOptions
{
    /// <summary>Seed of the weight initialisation (torch generator) and of the data order (System.Random).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Passes over the training images.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Images per Adam step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Adam learning rate (betas 0.9, 0.999).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Train on the first this many training images only (0 = all 60,000); for tests.</summary>
    public int TrainLimit { get; init; }
}
