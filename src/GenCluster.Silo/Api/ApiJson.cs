using System.Text.Json;
using System.Text.Json.Serialization;

namespace GenCluster.Silo.Api;

/// <summary>JSON settings shared by the API and its client.</summary>
public static class ApiJson
{
    /// <summary>Settings for responses and for reading them.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>Response settings without indentation, for answers that are mostly numbers (the step journal).</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    /// <summary>
    /// Settings for reading a submitted spec: unknown fields and nulls where a value is required are errors that name
    /// the field, rather than being silently ignored.
    /// </summary>
    public static readonly JsonSerializerOptions Strict = new(Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>Applies GenCluster's settings (camelCase, enums as strings, indented) to <paramref name="options"/>.</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.PropertyNameCaseInsensitive = true;
        options.WriteIndented = true;
        options.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        options.Converters.Add(new JsonStringEnumConverter());
        return options;
    }
}
