using System.Text.Json;
using System.Text.Json.Serialization;

namespace GenCluster.Contracts.Jobs;

/// <summary>The JSON form of a job spec as users write it (camelCase, enums as strings), for files that carry one (checkpoint manifests).</summary>
public static class JobSpecJson
{
    /// <summary>Reading and writing settings.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary><paramref name="spec"/> as a JSON element.</summary>
    public static JsonElement ToElement(JobSpec spec) => JsonSerializer.SerializeToElement(spec, Options);

    /// <summary>The spec in <paramref name="element"/>.</summary>
    /// <exception cref="JsonException">Not a valid spec; the message names the field.</exception>
    public static JobSpec FromElement(JsonElement element) =>
        element.Deserialize<JobSpec>(Options) ?? throw new JsonException("the job spec is null");
}
