using System.Text.Json;
using GenCluster.Contracts.Jobs;
using GenCluster.Grains.Jobs;
using GenCluster.Silo.Api;

namespace GenCluster.Fuzz.Targets;

/// <summary>
/// <c>job-spec</c>: a submitted job spec as <c>POST /api/jobs</c> reads it: the request body deserialized as a
/// <see cref="JobSpec"/> with the API's strict settings (<see cref="ApiJson.Strict"/>: unknown fields, bad types and
/// model kinds fail naming the field with a <see cref="JsonException"/>, the documented error), then
/// <see cref="JobSpecValidator"/>.
/// </summary>
/// <remarks>
/// A spec that passes is then checked the way the trainers use it: written into a checkpoint manifest and read back
/// (<see cref="JobSpecJson"/>) it must be the same spec, and its training stages must run from step 0 to its last step
/// without gaps or empty stages; otherwise the target throws <see cref="FuzzInvariantException"/>. Accepted: the spec
/// is valid.
/// </remarks>
internal sealed class JobSpecTarget : IFuzzTarget
{
    public const string Name = "job-spec";

    public FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        JobSpec? spec;
        using (var body = new MemoryStream(input.ToArray(), writable: false))
        {
            try
            {
                spec = JsonSerializer.DeserializeAsync<JobSpec>(body, ApiJson.Strict).AsTask().GetAwaiter().GetResult();
            }
            catch (JsonException)
            {
                return FuzzOutcome.Rejected;
            }
        }

        if (JobSpecValidator.Validate(spec).Count > 0)
        {
            return FuzzOutcome.Rejected;
        }

        CheckManifestRoundTrip(spec!);
        CheckStages(spec!);
        return FuzzOutcome.Accepted;
    }

    private static void CheckManifestRoundTrip(JobSpec spec)
    {
        var again = JobSpecJson.FromElement(JobSpecJson.ToElement(spec));
        if (again != spec)
        {
            throw new FuzzInvariantException($"job spec: read back from its manifest JSON it differs: {spec} became {again}");
        }
    }

    private static void CheckStages(JobSpec spec)
    {
        var stages = spec.Model.Stages(spec.Steps);
        var next = 0L;
        foreach (var stage in stages)
        {
            if (stage.FirstStep != next || stage.Steps <= 0)
            {
                throw new FuzzInvariantException($"job spec: stages of {spec.Steps} steps are not contiguous and non-empty: {string.Join(", ", stages)}");
            }

            next = stage.EndStep;
        }

        if (next != spec.Steps)
        {
            throw new FuzzInvariantException($"job spec: stages end at step {next}, not at the job's {spec.Steps} steps");
        }
    }
}
