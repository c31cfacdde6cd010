using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Training;

/// <summary>Trainer-local settings of the training engine (section <c>Trainer</c>); the job's settings come from its JobSpec.</summary>
public sealed record TrainingEngineOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Trainer";

    /// <summary>TorchSharp intra-op threads (<c>Trainer:Threads</c>); 0 = leave libtorch's default. N trainers on one machine should share its cores.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// This trainer's place among the trainers sharing its host, <c>i/n</c> (<c>Trainer:CpuSlot</c>): its threads are
    /// bound to the i-th block of the cores (<see cref="GenCluster.Contracts.Workers.CoreShare"/>); null or empty = unbound.
    /// </summary>
    public string? CpuSlot { get; init; }

    /// <summary>Device (<c>Trainer:Device</c>): <c>cpu</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Directory with the data set files (<c>Trainer:DataDirectory</c>); missing files are fetched into it.</summary>
    public string DataDirectory { get; init; } = "data";

    /// <summary>Local copy of the data sets to take missing files from (<c>Trainer:SharedDatasetDirectory</c>); null = <c>../shared/datasets/&lt;name&gt;</c> beside the repository.</summary>
    public string? SharedDatasetDirectory { get; init; }

    /// <summary>
    /// Target size of one gradient all-reduce message in bytes (<c>Trainer:BucketBytes</c>); 0 (default) sizes buckets
    /// per network (<see cref="GradientBuckets.AutoBucketBytes"/>: a quarter of its gradients, 64 KiB..25 MiB).
    /// </summary>
    public long BucketBytes { get; init; }

    /// <summary>All-reduce gradient buckets during backward (<c>Trainer:OverlapBackward</c>): auto (default), on or off; see <see cref="OverlapPolicy"/>.</summary>
    public string OverlapBackward { get; init; } = "auto";

    /// <summary>Steps in a row skipped for NaN/Inf before training stops so the job rolls back (<c>Trainer:MaxConsecutiveSkips</c>).</summary>
    public int MaxConsecutiveSkips { get; init; } = 5;

    /// <summary>Images in each sample grid (<c>Trainer:SampleCount</c>), drawn from a fixed latent batch; shown 8 per row.</summary>
    public int SampleCount { get; init; } = 64;
}

/// <summary>Validates <see cref="TrainingEngineOptions"/>; messages name the configuration key.</summary>
public sealed class TrainingEngineOptionsValidator : IValidateOptions<TrainingEngineOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TrainingEngineOptions options)
    {
        var errors = new List<string>();
        if (options.Threads < 0) errors.Add($"Trainer:Threads must be 0 (default) or positive, got {options.Threads}");
        if (!string.IsNullOrEmpty(options.CpuSlot))
        {
            try
            {
                _ = GenCluster.Contracts.Workers.CoreShare.ParseSlot(options.CpuSlot, "Trainer:CpuSlot");
            }
            catch (FormatException e)
            {
                errors.Add(e.Message);
            }
        }
        if (!IsDevice(options.Device)) errors.Add($"Trainer:Device must be 'cpu' or 'cuda:N', got '{options.Device}'");
        if (string.IsNullOrWhiteSpace(options.DataDirectory)) errors.Add("Trainer:DataDirectory must be set");
        if (options.BucketBytes is < 0 or (> 0 and < 4096)) errors.Add($"Trainer:BucketBytes must be 0 (automatic) or at least 4096, got {options.BucketBytes}");
        if (!OverlapPolicy.Modes.Contains(options.OverlapBackward))
            errors.Add($"Trainer:OverlapBackward must be one of {string.Join(", ", OverlapPolicy.Modes)}, got '{options.OverlapBackward}'");
        if (options.MaxConsecutiveSkips < 1) errors.Add($"Trainer:MaxConsecutiveSkips must be at least 1, got {options.MaxConsecutiveSkips}");
        if (options.SampleCount is < 1 or > 1024) errors.Add($"Trainer:SampleCount must be in 1..1024, got {options.SampleCount}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsDevice(string device) =>
        device == "cpu" || (device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out var index) && index >= 0);
}
