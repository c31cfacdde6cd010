namespace GenCluster.Trainer.Evaluation;

/// <summary>The floor figures cached beside the classifier, valid for one classifier and one set of measuring options.</summary>
/// <param name="ClassifierSha256">Weights the figures were measured with.</param>
/// <param name="FloorCount">Training images used.</param>
/// <param name="FloorSeed">Seed of their subset.</param>
/// <param name="KidSubsets">KID subsets.</param>
/// <param name="KidSubsetSize">Rows per KID subset.</param>
/// <param name="KidSeed">Seed of the KID subsets.</param>
/// <param name="Fid">FID of the floor images against the test split.</param>
/// <param name="KidMean">Their KID mean.</param>
/// <param name="KidStd">Their KID standard deviation.</param>
public sealed record EvaluationFloor(
    string ClassifierSha256, int FloorCount, int FloorSeed, int KidSubsets, int KidSubsetSize, int KidSeed,
    double Fid, double KidMean, double KidStd);
