namespace GenCluster.Contracts.Models;

/// <summary>
/// One stage of a job's training (VQ-VAE-2: the autoencoder, then the prior on its codes): steps
/// [<see cref="FirstStep"/>, <see cref="EndStep"/>) of the job's step counter. Each stage trains its own networks;
/// the cadence checkpoints at every stage's end, and a resumed job lands in the stage its checkpoint's step falls in.
/// </summary>
/// <param name="Name">Stage name, e.g. <c>autoencoder</c>, <c>prior</c>; <c>train</c> for single-stage kinds.</param>
/// <param name="FirstStep">Steps completed when the stage starts.</param>
/// <param name="EndStep">Steps completed when it ends.</param>
[GenerateSerializer, Immutable]
public sealed record TrainingStage([property: Id(0)] string Name, [property: Id(1)] long FirstStep, [property: Id(2)] long EndStep)
{
    /// <summary>The name of the only stage of single-stage kinds.</summary>
    public const string Single = "train";

    /// <summary>Steps in the stage.</summary>
    public long Steps => EndStep - FirstStep;

    /// <summary>The stage of <paramref name="stages"/> that the step after <paramref name="completed"/> steps belongs to (the last one once all are done).</summary>
    public static TrainingStage At(IReadOnlyList<TrainingStage> stages, long completed) =>
        stages.FirstOrDefault(s => completed < s.EndStep) ?? stages[^1];
}
