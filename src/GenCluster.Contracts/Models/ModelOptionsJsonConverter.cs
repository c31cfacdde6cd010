using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace GenCluster.Contracts.Models;

/// <summary>
/// Reads a job spec's <c>model</c>: a kind name (<c>"dcgan"</c>) or an object whose <c>kind</c> picks the record from
/// <see cref="ModelCatalog"/> and whose other fields are that record's options. Writes the object form, kind first.
/// </summary>
/// <remarks>The serializer options in force apply to the options record, so a strict reader refuses unknown fields by name.</remarks>
public sealed class ModelOptionsJsonConverter : JsonConverter<ModelOptions>
{
    private const string KindProperty = "kind";

    /// <inheritdoc />
    public override ModelOptions Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
            return ModelCatalog.Defaults(Entry(reader.GetString()).Kind);
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"model must be a kind name or an object with \"{KindProperty}\", got {reader.TokenType}");
        var node = ReadObject(ref reader, options);
        var kindNode = node.FirstOrDefault(p => string.Equals(p.Key, KindProperty, StringComparison.OrdinalIgnoreCase));
        if (kindNode.Value is null)
            throw new JsonException($"model.{KindProperty} is missing; expected one of {string.Join(", ", ModelCatalog.Kinds)}");
        var kind = kindNode.Value.GetValueKind() == JsonValueKind.String ? kindNode.Value.GetValue<string>() : kindNode.Value.ToJsonString();
        var entry = Entry(kind);
        node.Remove(kindNode.Key);
        try
        {
            return (ModelOptions)(node.Deserialize(entry.OptionsType, options)
                ?? throw new JsonException($"model options for '{kind}' are null"));
        }
        catch (JsonException ex)
        {
            // The inner reader only knows paths inside the model object: name the field from the spec's root.
            var inner = string.IsNullOrEmpty(ex.Path) ? "" : ex.Path.TrimStart('$');
            throw new JsonException($"model ({kind}): {ex.Message}", "$.model" + inner, ex.LineNumber, ex.BytePositionInLine, ex);
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, ModelOptions value, JsonSerializerOptions options)
    {
        var fields = JsonSerializer.SerializeToNode(value, value.GetType(), options) as JsonObject ?? [];
        writer.WriteStartObject();
        writer.WriteString(KindProperty, value.Kind);
        foreach (var (name, field) in fields)
        {
            if (string.Equals(name, KindProperty, StringComparison.OrdinalIgnoreCase)) continue;
            writer.WritePropertyName(name);
            if (field is null) writer.WriteNullValue();
            else field.WriteTo(writer, options);
        }
        writer.WriteEndObject();
    }

    /// <summary>
    /// The model object as a node. A field given twice keeps its last value, as the spec's other fields do, unless
    /// <paramref name="options"/> refuse duplicates: then it fails naming the field.
    /// </summary>
    private static JsonObject ReadObject(ref Utf8JsonReader reader, JsonSerializerOptions options)
    {
        // Not JsonNode.Parse: its JsonObject throws ArgumentException on a repeated name.
        var element = JsonElement.ParseValue(ref reader);
        var node = new JsonObject();
        foreach (var field in element.EnumerateObject())
        {
            if (!options.AllowDuplicateProperties && node.ContainsKey(field.Name))
                throw new JsonException($"model.{field.Name} is given more than once", $"$.model.{field.Name}", null, null);
            node[field.Name] = JsonSerializer.SerializeToNode(field.Value);
        }

        return node;
    }

    private static ModelCatalogEntry Entry(string? kind) =>
        ModelCatalog.Find(kind) ?? throw new JsonException(
            $"model.{KindProperty} '{kind}' is not a model kind; expected one of {string.Join(", ", ModelCatalog.Kinds)}");
}
