using System.Text.Json;
using System.Text.Json.Serialization;

namespace GenCluster.Trainer.Checkpoints;

/// <summary>SHA-256 and length of one file in a checkpoint directory.</summary>
public sealed record CheckpointFile(string Sha256, long Bytes);

/// <summary>
/// <c>manifest.json</c> of a checkpoint directory: where training stood and what every other file must hash to.
/// It is written last, so a directory without a readable manifest is never taken for a checkpoint.
/// </summary>
public sealed record CheckpointManifest
{
    /// <summary>Manifest layout version.</summary>
    public int Format { get; init; } = 1;

    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; init; }

    /// <summary>Sampler epoch after the step.</summary>
    public int Epoch { get; init; }

    /// <summary>Micro-batches taken in <see cref="Epoch"/> by each rank.</summary>
    public long SamplerBatch { get; init; }

    /// <summary>World size that wrote it (the sampler position is converted when it changes).</summary>
    public int WorldSize { get; init; }

    /// <summary>Images per rank per micro-batch.</summary>
    public int PerWorkerBatch { get; init; }

    /// <summary>Steps skipped for non-finite values so far.</summary>
    public long SkippedSteps { get; init; }

    /// <summary>Random generator states by name, base64 (torch generator states are byte tensors).</summary>
    public Dictionary<string, string> RngStates { get; init; } = [];

    /// <summary>Options the run used, as JSON, for the resume diff.</summary>
    public JsonElement Options { get; init; }

    /// <summary>Every other file in the directory with its SHA-256.</summary>
    public Dictionary<string, CheckpointFile> Files { get; init; } = [];

    /// <summary>When it was written (UTC).</summary>
    public DateTimeOffset CreatedUtc { get; init; }

    public static JsonSerializerOptions Json { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
