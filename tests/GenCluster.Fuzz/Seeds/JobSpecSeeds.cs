using System.Text;
using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;
using GenCluster.Grains.Jobs;
using GenCluster.Silo.Api;

namespace GenCluster.Fuzz.Seeds;

/// <summary>
/// Seeds of <c>job-spec</c>: specs as the CLI sends them (<see cref="ApiJson.Options"/>), one per model kind and a few
/// with the batch, data set and stage fields set; and what a user may write by hand: the kind as a string, nothing
/// at all, an unknown field, an unknown kind, a cut document.
/// </summary>
internal static class JobSpecSeeds
{
    public static IEnumerable<(string Name, byte[] Bytes)> Make()
    {
        foreach (var kind in ModelCatalog.Kinds)
        {
            yield return ($"valid-{kind}", Encode(new JobSpec { Name = $"{kind}-mnist", Model = ModelCatalog.Defaults(kind), Steps = 5000 }));
        }

        var global = Encode(new JobSpec { Name = "global", PerWorkerBatch = 32, GlobalBatch = 256, MinWorkers = 2, MaxWorkers = 8, GradientTransfer = "bf16" });
        yield return ("valid-global-batch", global);
        yield return ("valid-image-folder", Encode(new JobSpec { Name = "faces", Dataset = "/data/faces", ImageSize = 64, Channels = 3, Device = "cuda", Evaluate = true }));
        yield return ("valid-vqvae2-prior", Encode(new JobSpec { Name = "vq2", Model = new VqVae2Options { PriorSteps = 4000 }, Steps = 10_000 }));
        yield return ("valid-model-as-string", Encoding.UTF8.GetBytes("""{"name":"s","model":"wgan-gp","steps":100}"""));
        yield return ("valid-empty-object", "{}"u8.ToArray());
        yield return ("edge-unknown-field", Encoding.UTF8.GetBytes("""{"name":"u","stepz":100}"""));
        yield return ("edge-unknown-kind", Encoding.UTF8.GetBytes("""{"model":{"kind":"stylegan","width":64}}"""));
        yield return ("edge-invalid-fields", Encoding.UTF8.GetBytes("""{"name":"","steps":0,"minWorkers":3,"maxWorkers":2,"model":{"kind":"dcgan","beta1":1.5}}"""));
        yield return ("edge-null", "null"u8.ToArray());
        yield return ("edge-cut", global[..(global.Length / 2)]);
    }

    /// <summary>
    /// Dictionary tokens: every field name the seeds use (quoted, as they appear in JSON), every model kind and the values
    /// of the closed sets, and numbers at the edges of the fields' types.
    /// </summary>
    public static IEnumerable<string> Tokens()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (_, bytes) in Make())
        {
            try
            {
                using var document = JsonDocument.Parse(bytes);
                Collect(document.RootElement, names);
            }
            catch (JsonException)
            {
                // The cut seed.
            }
        }

        return names.Select(n => $"\"{n}\"")
            .Concat(ModelCatalog.Kinds.Select(k => $"\"{k}\""))
            .Concat(JobSpecValidator.Devices.Concat(JobSpecValidator.GradientTransfers).Concat(GanOptions.AllObjectives).Select(v => $"\"{v}\""))
            .Concat(["\"mnist\"", "\"adam\"", "\"rmsprop\"", "true", "false", "null", "-1", "0", "2147483647", "-2147483648", "9223372036854775807", "1e308", "4096"])
            .Distinct(StringComparer.Ordinal);
    }

    private static byte[] Encode(JobSpec spec) => JsonSerializer.SerializeToUtf8Bytes(spec, ApiJson.Options);

    private static void Collect(JsonElement element, SortedSet<string> names)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                names.Add(property.Name);
                Collect(property.Value, names);
            }
        }
    }
}
