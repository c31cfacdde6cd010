using System.Text.Json;

namespace GenCluster.Trainer.Evaluation;

/// <summary>What the JSON file beside the cached weights records.</summary>
/// <param name="Version">The cache version (<see cref="ClassifierCache.Version"/>); a different one is retrained.</param>
/// <param name="WeightsSha256">SHA-256 (lower-case hex) of the weights file.</param>
/// <param name="TestAccuracy">Share of the 10,000 test images classified correctly.</param>
/// <param name="TrainSeconds">Wall time of the training.</param>
/// <param name="Threads">TorchSharp threads it was trained with.</param>
/// <param name="Training">The options it was trained with.</param>
/// <param name="CreatedUtc">When it was written.</param>
public sealed record ClassifierCard(
    string Version, string WeightsSha256, double TestAccuracy, double TrainSeconds, int Threads,
    ClassifierTrainingOptions Training, DateTimeOffset CreatedUtc)
{
    /// <summary>The JSON settings of the card files (snake_case, indented).</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
