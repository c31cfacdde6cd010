namespace GenCluster.Trainer.Evaluation;

/// <summary>Where <see cref="SampleEvaluator"/> finds MNIST and its caches, and how it measures.</summary>
public sealed record SampleEvaluatorOptions
{
    /// <summary>The trainer's data directory; MNIST, the classifier and the floor are kept under <c>&lt;dir&gt;/mnist</c>.</summary>
    public string DataDirectory { get; init; } = "data";

    /// <summary>Local copy of the data sets; null = <c>../shared/datasets</c> beside the repository.</summary>
    public string? SharedDatasetDirectory { get; init; }

    /// <summary>How the feature classifier is trained when it is not cached yet.</summary>
    public ClassifierTrainingOptions Classifier { get; init; } = new();

    /// <summary>Training images behind the floor (a seeded subset).</summary>
    public int FloorCount { get; init; } = 10_000;

    /// <summary>Seed of the floor subset.</summary>
    public int FloorSeed { get; init; } = 1;

    /// <summary>KID subsets.</summary>
    public int KidSubsets { get; init; } = KernelDistance.DefaultSubsets;

    /// <summary>Rows per KID subset.</summary>
    public int KidSubsetSize { get; init; } = KernelDistance.DefaultSubsetSize;

    /// <summary>Seed of the KID subsets (the same for samples and floor).</summary>
    public int KidSeed { get; init; } = 1;
}
