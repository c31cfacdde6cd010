using System.Text.Json;
using System.Text.Json.Serialization;
using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Models;

namespace GenCluster.Contracts.Tests.Models;

/// <summary>A job spec's <c>model</c> in JSON: a kind name or an object with a kind; typed per kind; strict readers refuse unknown options.</summary>
public class ModelOptionsJsonTests
{
    private static readonly JsonSerializerOptions Strict = new(JobSpecJson.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    public static TheoryData<string> Kinds() => [.. ModelCatalog.Kinds];

    [Fact]
    public void AKindNameGivesThePaperDefaults()
    {
        var spec = JsonSerializer.Deserialize<JobSpec>("""{"model": "wgan-gp"}""", Strict)!;
        var model = Assert.IsType<WganGpOptions>(spec.Model);
        Assert.Equal((10.0, 5, 0.0, 0.9, 1e-4), (model.GradientPenalty, model.DSteps, model.Beta1, model.Beta2, model.LearningRateD));
    }

    [Fact]
    public void AnObjectSetsOptionsOfItsKind()
    {
        var spec = JsonSerializer.Deserialize<JobSpec>("""{"model": {"kind": "sagan", "attentionResolution": 7, "width": 16}}""", Strict)!;
        var model = Assert.IsType<SaganOptions>(spec.Model);
        Assert.Equal((7, 16, 4e-4), (model.AttentionResolution, model.Width, model.LearningRateD));
    }

    [Fact]
    public void AnUnknownKindIsNamedWithTheKnownOnes()
    {
        var ex = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<JobSpec>("""{"model": {"kind": "vit"}}""", Strict));
        Assert.Contains("model.kind 'vit' is not a model kind", ex.Message);
        Assert.Contains("dcgan", ex.Message);
    }

    [Fact]
    public void AnOptionOfAnotherKindIsRefusedByAStrictReader()
    {
        // gradientPenalty belongs to wgan-gp, not dcgan.
        var ex = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<JobSpec>("""{"model": {"kind": "dcgan", "gradientPenalty": 5}}""", Strict));
        Assert.Contains("gradientPenalty", ex.Message);
    }

    [Fact]
    public void AnOptionGivenTwiceKeepsItsLastValueLikeTheSpecsOtherFields()
    {
        // Fuzzing regression (corpus/job-spec/crash-0e276c8066b8): a repeated option escaped as ArgumentException.
        var spec = JsonSerializer.Deserialize<JobSpec>(
            """{"steps": 10, "steps": 20, "model": {"kind": "vqvae2", "beta2": 0.999, "width": 64, "beta2": 0}}""", Strict)!;

        var model = Assert.IsType<VqVae2Options>(spec.Model);
        Assert.Equal((20L, 0.0, 64), (spec.Steps, model.Beta2, model.Width));
    }

    [Fact]
    public void AnOptionGivenTwiceIsNamedWhenTheReaderRefusesDuplicates()
    {
        var refusing = new JsonSerializerOptions(Strict) { AllowDuplicateProperties = false };

        var ex = Assert.Throws<JsonException>(() =>
            JsonSerializer.Deserialize<JobSpec>("""{"model": {"kind": "dcgan", "beta1": 0.5, "beta1": 0.1}}""", refusing));

        Assert.Contains("model.beta1 is given more than once", ex.Message, StringComparison.Ordinal);
        Assert.Equal("$.model.beta1", ex.Path);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryKindRoundTripsWithItsKindFirst(string kind)
    {
        var spec = new JobSpec { Model = ModelCatalog.Defaults(kind) with { } };
        var json = JsonSerializer.Serialize(spec, JobSpecJson.Options);
        Assert.Contains($"\"model\":{{\"kind\":\"{kind}\"", json);
        var copy = JsonSerializer.Deserialize<JobSpec>(json, Strict)!;
        Assert.Equal(spec.Model, copy.Model);
        Assert.Equal(kind, copy.Model.Kind);
    }

    [Fact]
    public void TheCatalogueListsEachKindOnceWithItsRecord()
    {
        Assert.Equal(ModelCatalog.Kinds.Count, ModelCatalog.Kinds.Distinct().Count());
        foreach (var entry in ModelCatalog.Entries)
            Assert.Equal(entry.Kind, entry.Defaults().Kind);
    }

    [Fact]
    public void BigGanHasThePapersDefaultsAndItsOwnOptions()
    {
        var spec = JsonSerializer.Deserialize<JobSpec>("""{"model": {"kind": "biggan", "sharedDim": 64, "attentionResolution": 14, "dBlocksAtBottom": 2}}""", Strict)!;
        var model = Assert.IsType<BigGanOptions>(spec.Model);
        Assert.Equal((64, 14, 2), (model.SharedDim, model.AttentionResolution, model.DBlocksAtBottom));
        Assert.Equal((120, 96, 5e-5, 2e-4, 0.0, 0.999), (model.LatentDim, model.Width, model.LearningRateG, model.LearningRateD, model.Beta1, model.Beta2));
        Assert.Equal(("hinge", 2, 1e-4, 0.9999, 20_000L), (model.Objective, model.DSteps, model.OrthogonalRegularization, model.EmaDecay, model.EmaStart));
        Assert.True(model.Conditional);
        Assert.Empty(model.Validate());
    }

    [Fact]
    public void BigGanOptionsOutOfRangeAreNamed()
    {
        var model = new BigGanOptions { AttentionResolution = 5, OrthogonalRegularization = -1, SharedDim = 0, Objective = "wasserstein" };
        var fields = model.Validate().Select(e => e.Field).ToList();
        Assert.Equal(["model.objective", "model.sharedDim", "model.orthogonalRegularization", "model.attentionResolution"], fields);
    }

    [Fact]
    public void AutoencodersHaveThePapersDefaultsAndTheirOwnOptions()
    {
        var spec = JsonSerializer.Deserialize<JobSpec>("""{"model": {"kind": "vqvae2", "codebookSize": 128, "priorSteps": 300, "priorLayers": 6}}""", Strict)!;
        var model = Assert.IsType<VqVae2Options>(spec.Model);
        Assert.Equal((128, 300L, 6), (model.CodebookSize, model.PriorSteps, model.PriorLayers));
        Assert.Equal((64, 0.25, 0.99, 1e-5, 3e-4), (model.CodeDim, model.Commitment, model.CodebookDecay, model.CodebookEpsilon, model.LearningRate));
        Assert.Equal(ModelFamily.Autoencoder, ModelCatalog.Find("vqvae2")!.Family);
        var vae = Assert.IsType<VaeOptions>(JsonSerializer.Deserialize<JobSpec>("""{"model": "vae"}""", Strict)!.Model);
        Assert.Equal((20, "bernoulli"), (vae.LatentDim, vae.Decoder));
        Assert.Empty(model.Validate());
        Assert.Empty(vae.Validate());
    }

    [Fact]
    public void AutoencoderOptionsOutOfRangeAreNamed()
    {
        var model = new VqVae2Options { CodebookSize = 1, CodebookDecay = 1, CodebookEpsilon = 0, PriorKernel = 4, PriorTemperature = 0, PriorSteps = -1 };
        var fields = model.Validate().Select(e => e.Field).ToList();
        Assert.Equal(["model.codebookSize", "model.codebookDecay", "model.codebookEpsilon", "model.priorSteps", "model.priorKernel", "model.priorTemperature"], fields);
        Assert.Contains(new VaeOptions { Decoder = "poisson" }.Validate(), e => e.Field == "model.decoder" && e.Message.Contains("bernoulli, gaussian"));
        var steps = new VqVae2Options { PriorSteps = 100 }.ValidateSteps(100).Single();
        Assert.Equal("model.priorSteps", steps.Field);
        Assert.Contains("must be < steps (100)", steps.Message);
        Assert.Empty(new VqVae2Options { PriorSteps = 99 }.ValidateSteps(100));
    }
}
