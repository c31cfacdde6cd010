namespace GenCluster.Contracts.Jobs;

/// <summary>
/// Which data the classifier-feature evaluation (<c>gencluster evaluate</c>, <see cref="JobSpec.Evaluate"/>) can score:
/// its features, class histogram and label accuracy come from an MNIST digit classifier, so only MNIST jobs.
/// </summary>
public static class EvaluationScope
{
    /// <summary>Why a job on <paramref name="dataset"/> cannot be evaluated, or null when it can.</summary>
    public static string? SkipReason(string dataset) => dataset == JobSpec.Mnist
        ? null
        : $"the FID/KID and label-accuracy evaluation scores samples in an MNIST digit classifier's features and needs dataset 'mnist'; skipped for dataset '{dataset}'";
}
