using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenCluster.Contracts.Models;
using GenCluster.Silo.Api;

namespace GenCluster.Silo.Local;

/// <summary>
/// Builds a job's model from command-line flags: a kind, an optional width and <c>--set name=value</c> pairs for any
/// other option of the kind (camelCase JSON names, e.g. <c>--set dSteps=5 --set emaDecay=0.999</c>). Goes through the
/// same strict JSON reader and validator as a submitted spec, so errors name the option.
/// </summary>
public static class ModelChoice
{
    /// <summary>The model, or the problems (each naming its flag or option).</summary>
    public static (ModelOptions? Model, IReadOnlyList<string> Errors) Build(string kind, int width, IReadOnlyList<string> settings)
    {
        var errors = new List<string>();
        if (ModelCatalog.Find(kind) is null)
        {
            errors.Add($"--model must be one of {string.Join(", ", ModelCatalog.Kinds)} (got '{kind}')");
            return (null, errors);
        }
        var node = new JsonObject { ["kind"] = kind };
        if (width > 0) node["width"] = width;
        foreach (var setting in settings)
        {
            var eq = setting.IndexOf('=');
            if (eq <= 0)
            {
                errors.Add($"--set expects name=value (got '{setting}')");
                continue;
            }
            node[setting[..eq].Trim()] = Value(setting[(eq + 1)..].Trim());
        }
        if (errors.Count > 0) return (null, errors);
        ModelOptions? model;
        try
        {
            model = node.Deserialize<ModelOptions>(ApiJson.Strict);
        }
        catch (JsonException ex)
        {
            errors.Add($"--model {kind} / --set: {ex.Message}");
            return (null, errors);
        }
        if (model is null) return (null, ["--model: no options were read"]);
        errors.AddRange(model.Validate("model").Select(e => $"{e.Field}: {e.Message}"));
        return (errors.Count == 0 ? model : null, errors);
    }

    private static JsonNode? Value(string text)
    {
        if (bool.TryParse(text, out var b)) return JsonValue.Create(b);
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
        return JsonValue.Create(text);
    }
}
