namespace GenCluster.Trainer.Evaluation;

/// <summary>A KID estimate: the mean and spread of the unbiased MMD² over random subsets.</summary>
/// <param name="Mean">Mean of the subset estimates.</param>
/// <param name="Std">Population standard deviation of the subset estimates (as torch-fidelity reports it).</param>
/// <param name="Subsets">Number of subsets.</param>
/// <param name="SubsetSize">Rows drawn from each set per subset.</param>
public sealed record KernelDistanceResult(double Mean, double Std, int Subsets, int SubsetSize);
