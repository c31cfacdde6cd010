using System.Text.Json.Serialization;

namespace GenCluster.Contracts.Models;

/// <summary>One problem with a field of a job spec: its JSON path and what is wrong, naming expected and actual values.</summary>
/// <param name="Field">camelCase JSON path, e.g. <c>model.dSteps</c>.</param>
/// <param name="Message">What is wrong, e.g. <c>must be >= 1, got 0</c>.</param>
public sealed record OptionError(string Field, string Message);

/// <summary>
/// A model kind and its hyper-parameters. Each kind has its own record (polymorphic), with the paper's defaults;
/// <see cref="ModelCatalog"/> lists them. In JSON a job spec's <c>model</c> is either the kind as a string
/// (<c>"dcgan"</c>: every option at its default) or an object <c>{"kind": "wgan-gp", "dSteps": 5, ...}</c>.
/// </summary>
[GenerateSerializer, Immutable]
[JsonConverter(typeof(ModelOptionsJsonConverter))]
public abstract record ModelOptions
{
    /// <summary>The kind name, e.g. <c>dcgan</c>; the key of <see cref="ModelCatalog"/> and of the trainer's recipes.</summary>
    public abstract string Kind { get; }

    /// <summary>Problems with the options; empty when they are valid. <paramref name="prefix"/> is the JSON path of the object.</summary>
    public virtual IEnumerable<OptionError> Validate(string prefix = "model") => [];

    /// <summary>The job's stages over its <paramref name="steps"/> steps: one (<see cref="TrainingStage.Single"/>) unless the kind trains in stages.</summary>
    public virtual IReadOnlyList<TrainingStage> Stages(long steps) => [new TrainingStage(TrainingStage.Single, 0, steps)];

    /// <summary>Problems of the options with a job of <paramref name="steps"/> steps (a stage left without steps).</summary>
    public virtual IEnumerable<OptionError> ValidateSteps(long steps, string prefix = "model") => [];

    /// <summary>Adds an error for <paramref name="field"/> when <paramref name="value"/> is below <paramref name="min"/>.</summary>
    protected static IEnumerable<OptionError> AtLeast(string prefix, string field, long value, long min) =>
        value >= min ? [] : [new OptionError($"{prefix}.{field}", $"must be >= {min}, got {value}")];

    /// <summary>Adds an error unless <paramref name="value"/> is finite and &gt; 0.</summary>
    protected static IEnumerable<OptionError> Positive(string prefix, string field, double value) =>
        double.IsFinite(value) && value > 0 ? [] : [new OptionError($"{prefix}.{field}", $"must be a finite number > 0, got {value}")];

    /// <summary>Adds an error unless <paramref name="value"/> is finite and ≥ 0.</summary>
    protected static IEnumerable<OptionError> NonNegative(string prefix, string field, double value) =>
        double.IsFinite(value) && value >= 0 ? [] : [new OptionError($"{prefix}.{field}", $"must be a finite number >= 0, got {value}")];

    /// <summary>Adds an error unless 0 ≤ <paramref name="value"/> &lt; 1.</summary>
    protected static IEnumerable<OptionError> UnitInterval(string prefix, string field, double value) =>
        double.IsFinite(value) && value >= 0 && value < 1 ? [] : [new OptionError($"{prefix}.{field}", $"must be in [0, 1), got {value}")];

    /// <summary>Adds an error unless <paramref name="value"/> is one of <paramref name="allowed"/>.</summary>
    protected static IEnumerable<OptionError> OneOf(string prefix, string field, string? value, IReadOnlyCollection<string> allowed) =>
        value is not null && allowed.Contains(value)
            ? []
            : [new OptionError($"{prefix}.{field}", $"must be one of {string.Join(", ", allowed)}, got '{value}'")];
}
