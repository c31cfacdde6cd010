using System.Text.Json;
using System.Text.Json.Serialization;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Trainer.Checkpoints;

/// <summary>Channels, height and width of a data set's images and its number of classes (0 = unlabelled).</summary>
public sealed record ImageShape(int Channels, int Height, int Width, int Classes);

/// <summary>SHA-256 and length of one file in a checkpoint directory.</summary>
public sealed record CheckpointFile(string Sha256, long Bytes);

/// <summary>
/// <c>manifest.json</c> of a checkpoint directory: where training stood and what every other file must hash to.
/// It is written last, so a directory without a readable manifest is never taken for a checkpoint.
/// </summary>
public sealed record CheckpointManifest
{
    /// <summary>The layout this build writes: 2 = model kind, job spec and network layouts in the manifest, one file per network and optimiser.</summary>
    public const int CurrentFormat = 2;

    /// <summary>Manifest layout version.</summary>
    public int Format { get; init; } = CurrentFormat;

    /// <summary>Model kind that wrote it (<c>ModelOptions.Kind</c>); a job of another kind refuses it.</summary>
    public string ModelKind { get; init; } = "";

    /// <summary>The job spec (as users write it), so the directory alone is enough to rebuild and sample the model.</summary>
    public JsonElement? Spec { get; init; }

    /// <summary>Shape of the training images and number of classes: what the networks were built for.</summary>
    public ImageShape? Data { get; init; }

    /// <summary>Per network: its parameter and buffer names, dtypes and shapes (one line each), checked before loading.</summary>
    public Dictionary<string, string> Layouts { get; init; } = [];

    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; init; }

    /// <summary>The training stage the checkpoint's step falls in (<c>ModelOptions.Stages</c>): where a resume lands; null in checkpoints written before stages.</summary>
    public string? Stage { get; init; }

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

    /// <summary>The manifest's JSON settings (snake_case).</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The job spec for <see cref="Spec"/>.</summary>
    public static JsonElement SpecToJson(JobSpec spec) => JobSpecJson.ToElement(spec);

    /// <summary>The job spec this checkpoint was written with.</summary>
    /// <exception cref="CheckpointCorruptException">The manifest has no readable spec.</exception>
    public JobSpec ReadSpec(string directory)
    {
        if (Spec is not { ValueKind: JsonValueKind.Object } spec)
            throw new CheckpointCorruptException(directory, $"manifest format {Format} has no job spec (written by an older GenCluster)");
        try
        {
            return JobSpecJson.FromElement(spec);
        }
        catch (JsonException ex)
        {
            throw new CheckpointCorruptException(directory, $"manifest's job spec is not valid: {ex.Message}");
        }
    }
}
