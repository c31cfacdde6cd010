using System.Text.Json;

namespace GenCluster.Trainer.Checkpoints;

/// <summary>A readable field-by-field difference between the options a checkpoint was written with and the current ones.</summary>
public static class OptionsDiff
{
    /// <summary>One line per differing field: <c>spec.model.width: 64 (checkpoint) -> 32 (now)</c>; empty when equal.</summary>
    public static IReadOnlyList<string> Compare(JsonElement saved, JsonElement current)
    {
        var a = Flatten(saved);
        var b = Flatten(current);
        var lines = new List<string>();
        foreach (var key in a.Keys.Union(b.Keys).Order(StringComparer.Ordinal))
        {
            a.TryGetValue(key, out var before);
            b.TryGetValue(key, out var after);
            if (before == after) continue;
            lines.Add($"{key}: {before ?? "(absent)"} (checkpoint) -> {after ?? "(absent)"} (now)");
        }
        return lines;
    }

    private static Dictionary<string, string> Flatten(JsonElement element)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        Walk(element, "", result);
        return result;
    }

    private static void Walk(JsonElement element, string prefix, Dictionary<string, string> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                    Walk(property.Value, prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}", into);
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                    Walk(item, $"{prefix}[{i++}]", into);
                break;
            case JsonValueKind.Undefined:
                break;
            default:
                into[prefix] = element.GetRawText();
                break;
        }
    }
}
