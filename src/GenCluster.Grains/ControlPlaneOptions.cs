using Microsoft.Extensions.Options;

namespace GenCluster.Grains;

/// <summary>Control-plane tunables (configuration section <c>ControlPlane</c>).</summary>
public sealed class ControlPlaneOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "ControlPlane";

    /// <summary>Name of the grain storage provider the grains persist to.</summary>
    public const string StorageName = "gencluster";

    /// <summary>Seconds a worker's lease lasts; a trainer heartbeats well within it. Default 10.</summary>
    public double LeaseSeconds { get; set; } = 10;

    /// <summary>Seconds between lease-expiry checks. Default 1.</summary>
    public double LeaseCheckSeconds { get; set; } = 1;

    /// <summary>
    /// Seconds a job preempted by the scheduler gets to write a checkpoint (its trainers see <c>CheckpointNow</c>) before
    /// its workers are taken anyway. 0 = take them at once. Default 30.
    /// </summary>
    public double PreemptionDrainSeconds { get; set; } = 30;

    /// <summary>
    /// A rank whose compute time per step exceeds this multiple of the other ranks' median is named as a straggler (an
    /// event in the job's history, and its score as a metric). Default 1.5.
    /// </summary>
    public double StragglerFactor { get; set; } = Jobs.StragglerDetector.DefaultFactor;

    /// <summary>Directory under which each job's run directory goes when its spec names none.</summary>
    public string RunsDirectory { get; set; } = "runs";
}

/// <summary>Validates <see cref="ControlPlaneOptions"/>; messages name the configuration key.</summary>
public sealed class ControlPlaneOptionsValidator : IValidateOptions<ControlPlaneOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ControlPlaneOptions options)
    {
        var errors = new List<string>();
        if (!double.IsFinite(options.LeaseSeconds) || options.LeaseSeconds <= 0 || options.LeaseSeconds > 3600)
            errors.Add($"{ControlPlaneOptions.Section}:LeaseSeconds must be in (0, 3600], got {options.LeaseSeconds}");
        if (!double.IsFinite(options.LeaseCheckSeconds) || options.LeaseCheckSeconds <= 0 || options.LeaseCheckSeconds > options.LeaseSeconds)
            errors.Add($"{ControlPlaneOptions.Section}:LeaseCheckSeconds must be in (0, LeaseSeconds={options.LeaseSeconds}], got {options.LeaseCheckSeconds}");
        if (!double.IsFinite(options.PreemptionDrainSeconds) || options.PreemptionDrainSeconds < 0 || options.PreemptionDrainSeconds > 3600)
            errors.Add($"{ControlPlaneOptions.Section}:PreemptionDrainSeconds must be in [0, 3600], got {options.PreemptionDrainSeconds}");
        if (!double.IsFinite(options.StragglerFactor) || options.StragglerFactor <= 1)
            errors.Add($"{ControlPlaneOptions.Section}:StragglerFactor must be a number above 1, got {options.StragglerFactor}");
        if (string.IsNullOrWhiteSpace(options.RunsDirectory))
            errors.Add($"{ControlPlaneOptions.Section}:RunsDirectory must not be empty");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
