using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster submit</c>: submits a job from a JSON spec file and/or flags (flags win).</summary>
public static class SubmitCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var verb = new ApiVerb();
        var file = new Option<FileInfo?>("--file", "-f") { Description = "JSON job spec (fields as in the API, camelCase)" };
        var flags = new (string Field, Option Option)[]
        {
            ("name", new Option<string?>("--name") { Description = "Job name" }),
            ("model", new Option<string?>("--model") { Description = $"Model kind: {string.Join(", ", GenCluster.Contracts.Models.ModelCatalog.Kinds)} (keeps the file's model options when it has them)" }),
            ("dataset", new Option<string?>("--dataset") { Description = "Data set: mnist, or the path of an image folder or CIFAR-10 binary batches (made absolute here; the trainers must see it at that path)" }),
            ("imageSize", new Option<int?>("--image-size") { Description = "Side of the training images (0 = the data's own)" }),
            ("channels", new Option<int?>("--channels") { Description = "Channels of the training images: 0 = the data's own, 1 grey, 3 RGB" }),
            ("datasetLimit", new Option<int?>("--dataset-limit") { Description = "Use only the first N images (0 = all)" }),
            ("steps", new Option<long?>("--steps") { Description = "Optimizer steps" }),
            ("minWorkers", new Option<int?>("--min-workers") { Description = "Fewest workers per round" }),
            ("maxWorkers", new Option<int?>("--max-workers") { Description = "Most workers per round" }),
            ("priority", new Option<int?>("--priority") { Description = "Higher runs first and may preempt lower" }),
            ("perWorkerBatch", new Option<int?>("--per-worker-batch") { Description = "Images per worker per micro-batch" }),
            ("globalBatch", new Option<int?>("--global-batch") { Description = "Images per step over all workers (0 = derived)" }),
            ("gradientAccumulation", new Option<int?>("--gradient-accumulation") { Description = "Micro-batches per step when no global batch" }),
            ("checkpointEvery", new Option<int?>("--checkpoint-every") { Description = "Checkpoint every N steps" }),
            ("seed", new Option<long?>("--seed") { Description = "Seed" }),
            ("device", new Option<string?>("--device") { Description = "cpu or cuda" }),
            ("gradientTransfer", new Option<string?>("--gradient-transfer") { Description = "Gradients on the ring: fp32 (exact) or bf16 (half the bytes)" }),
            ("runsDirectory", new Option<string?>("--runs-dir") { Description = "Directory for the job's checkpoints and samples" }),
        };

        var command = new Command("submit", "Submit a job (from --file and/or flags) and print its id.") { file };
        verb.AddTo(command);
        foreach (var (_, option) in flags) command.Options.Add(option);
        command.SetAction(async (result, ct) =>
        {
            var spec = new JsonObject();
            if (result.GetValue(file) is { } f)
            {
                try
                {
                    spec = JsonNode.Parse(await File.ReadAllTextAsync(f.FullName, ct)) as JsonObject
                           ?? throw new JsonException("the top level is not an object");
                }
                catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
                {
                    await result.InvocationConfiguration.Error.WriteLineAsync($"--file: {f.FullName} must be a readable JSON object: {e.Message}");
                    return 1;
                }
            }
            return await verb.RunAsync(result, (client, output) => Submit(client, output, spec, result, ct));
        });
        return command;

        async Task Submit(Api.GenClusterApiClient client, TextWriter output, JsonObject spec, ParseResult result, CancellationToken ct)
        {
            foreach (var (field, option) in flags)
            {
                if (result.GetResult(option) is null) continue;
                if (field == "model" && spec[field] is JsonObject model)
                {
                    model["kind"] = JsonValue.Create(result.GetValue((Option<string?>)option));
                    continue;
                }
                spec[field] = option switch
                {
                    Option<string?> s when field == "dataset" => JsonValue.Create(result.GetValue(s) is { } d and not JobSpec.Mnist ? Path.GetFullPath(d) : result.GetValue(s)),
                    Option<string?> s => JsonValue.Create(result.GetValue(s)),
                    Option<int?> i => JsonValue.Create(result.GetValue(i)),
                    Option<long?> l => JsonValue.Create(result.GetValue(l)),
                    _ => throw new InvalidOperationException($"flag {option.Name} has an unexpected type"),
                };
            }

            var status = await client.SubmitAsync(spec.ToJsonString(), ct);
            if (result.GetValue(verb.Json)) ApiVerb.WriteJson(output, status);
            else output.WriteLine($"submitted job {status.Id} ({status.Spec.Name}): {status.State}");
        }
    }
}
