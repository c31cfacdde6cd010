using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;

namespace GenCluster.Grains.Jobs;

/// <summary>Checks a <see cref="JobSpec"/>; every message names the JSON field, the expected and the actual value.</summary>
public static class JobSpecValidator
{
    /// <summary>Largest <see cref="JobSpec.ImageSize"/> accepted (a sanity bound: every image is held in memory).</summary>
    public const int MaxImageSize = 1024;

    /// <summary>Smallest non-zero <see cref="JobSpec.ImageSize"/> (the trainers refuse images smaller than this too).</summary>
    public const int MinImageSize = 8;

    /// <summary>Largest <see cref="JobSpec.MaxWorkers"/> accepted.</summary>
    public const int MaxWorkersLimit = 4096;

    /// <summary>Device kinds.</summary>
    public static readonly IReadOnlySet<string> Devices = new HashSet<string>(StringComparer.Ordinal) { "cpu", "cuda" };

    /// <summary>Gradient encodings on the ring.</summary>
    public static readonly IReadOnlySet<string> GradientTransfers = new HashSet<string>(StringComparer.Ordinal) { "fp32", "bf16" };

    /// <summary>Errors by field (camelCase JSON path); empty when the spec is valid.</summary>
    public static IReadOnlyDictionary<string, string[]> Validate(JobSpec? spec)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string field, string message)
        {
            if (!errors.TryGetValue(field, out var list)) errors[field] = list = [];
            list.Add($"{field}: {message}");
        }

        if (spec is null)
        {
            Add("$", "the request body must be a JSON object with the job spec");
            return Freeze(errors);
        }

        if (string.IsNullOrWhiteSpace(spec.Name) || spec.Name.Length > 100)
            Add("name", $"must be 1..100 characters, got '{spec.Name}'");
        Dataset(spec);
        OneOf("device", spec.Device, Devices);
        OneOf("gradientTransfer", spec.GradientTransfer, GradientTransfers);
        if (spec.DatasetLimit < 0) Add("datasetLimit", $"must be >= 0 (0 = all), got {spec.DatasetLimit}");
        if (spec.PerWorkerBatch < 1) Add("perWorkerBatch", $"must be >= 1, got {spec.PerWorkerBatch}");
        if (spec.GlobalBatch < 0) Add("globalBatch", $"must be >= 0 (0 = derived), got {spec.GlobalBatch}");
        if (spec.GradientAccumulation < 1) Add("gradientAccumulation", $"must be >= 1, got {spec.GradientAccumulation}");
        if (spec.Steps < 1) Add("steps", $"must be >= 1, got {spec.Steps}");
        if (spec.MinWorkers < 1) Add("minWorkers", $"must be >= 1, got {spec.MinWorkers}");
        if (spec.MaxWorkers < spec.MinWorkers)
            Add("maxWorkers", $"must be >= minWorkers ({spec.MinWorkers}), got {spec.MaxWorkers}");
        if (spec.MaxWorkers > MaxWorkersLimit) Add("maxWorkers", $"must be <= {MaxWorkersLimit}, got {spec.MaxWorkers}");
        if (spec.CheckpointEvery < 0) Add("checkpointEvery", $"must be >= 0 (0 = only at the end), got {spec.CheckpointEvery}");
        if (spec.KeepCheckpoints < 1) Add("keepCheckpoints", $"must be >= 1, got {spec.KeepCheckpoints}");
        if (spec.SampleEvery < 0) Add("sampleEvery", $"must be >= 0 (0 = only at the end), got {spec.SampleEvery}");
        if (spec.RestartBudget < 0) Add("restartBudget", $"must be >= 0, got {spec.RestartBudget}");
        if (spec.PreemptionBudget < 0) Add("preemptionBudget", $"must be >= 0, got {spec.PreemptionBudget}");

        // Only within the worker limit: the world sizes are tried one by one.
        if (spec.GlobalBatch > 0 && spec.PerWorkerBatch >= 1 && spec.MinWorkers >= 1 && spec.MaxWorkers >= spec.MinWorkers &&
            spec.MaxWorkers <= MaxWorkersLimit && BatchGeometry.WorldSizes(spec).Count == 0)
        {
            Add("globalBatch",
                $"must be a multiple of perWorkerBatch ({spec.PerWorkerBatch}) × world size for some world size in " +
                $"minWorkers..maxWorkers ({spec.MinWorkers}..{spec.MaxWorkers}), got {spec.GlobalBatch}");
        }

        if (spec.Model is null)
        {
            Add("model", $"must be a model kind or an object with a kind, one of {string.Join(", ", ModelCatalog.Kinds)}; got null");
        }
        else if (ModelCatalog.Find(spec.Model.Kind) is null)
        {
            Add("model", $"kind must be one of {string.Join(", ", ModelCatalog.Kinds)}, got '{spec.Model.Kind}'");
        }
        else
        {
            foreach (var error in spec.Model.Validate("model")) Add(error.Field, error.Message);
            foreach (var error in spec.Model.ValidateSteps(spec.Steps, "model")) Add(error.Field, error.Message);
            if (spec.ShardOptimizer && OptimizerSharding.Refusal(spec.Model) is { } refusal) Add("shardOptimizer", refusal);
        }

        return Freeze(errors);

        void Dataset(JobSpec s)
        {
            if (s.Dataset == JobSpec.Mnist)
            {
                if (s.ImageSize is not (0 or 28)) Add("imageSize", $"must be 0 or 28 for mnist (its images are 28×28), got {s.ImageSize}");
                if (s.Channels is not (0 or 1)) Add("channels", $"must be 0 or 1 for mnist (its images are grey), got {s.Channels}");
                return;
            }
            // A path's existence is the trainers' to check: they may see another file system than the silo.
            if (string.IsNullOrWhiteSpace(s.Dataset) || s.Dataset.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
                Add("dataset", $"must be '{JobSpec.Mnist}' or the path of an image folder or CIFAR-10 binary batches, got '{s.Dataset}'");
            if (s.ImageSize != 0 && s.ImageSize is < MinImageSize or > MaxImageSize)
                Add("imageSize", $"must be 0 (the data's own size) or {MinImageSize}..{MaxImageSize}, got {s.ImageSize}");
            if (s.Channels is not (0 or 1 or 3))
                Add("channels", $"must be 0 (the data's own), 1 (grey) or 3 (RGB), got {s.Channels}");
        }

        void OneOf(string field, string? value, IReadOnlySet<string> allowed)
        {
            if (value is null || !allowed.Contains(value))
                Add(field, $"must be one of {string.Join(", ", allowed.Order())}, got '{value}'");
        }
    }

    private static Dictionary<string, string[]> Freeze(Dictionary<string, List<string>> errors) =>
        errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
