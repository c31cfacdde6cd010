using GenCluster.Contracts.Jobs;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Sampling;

/// <summary>What to draw from a checkpoint.</summary>
/// <param name="Count">Images.</param>
/// <param name="ClassLabel">Conditional models: only this class (null = spread evenly over the classes).</param>
/// <param name="Ema">Use the EMA generator (an error when the checkpoint has none).</param>
/// <param name="Seed">Seed of the latents.</param>
/// <param name="Truncation">Truncation threshold (0 = none).</param>
/// <param name="BatchSize">Images generated per forward pass.</param>
/// <param name="Temperature">Autoregressive priors: softmax temperature (null = the model's own option).</param>
/// <param name="BottomTemperature">VQ-VAE-2: the bottom prior's temperature (null = <paramref name="Temperature"/> when given, else the model's own option).</param>
public sealed record SamplingRequest(int Count, int? ClassLabel = null, bool Ema = false, long Seed = 1, double Truncation = 0, int BatchSize = 500,
    double? Temperature = null, double? BottomTemperature = null);

/// <summary>Images drawn from a checkpoint as 8-bit pixels, with their class labels for conditional models.</summary>
/// <param name="Images">N × C × H × W bytes.</param>
/// <param name="Labels">The class each image was drawn for, or null (unconditional).</param>
/// <param name="ModelKind">The checkpoint's model kind.</param>
/// <param name="Step">The checkpoint's step.</param>
public sealed record SampledImages(ImageArray Images, long[]? Labels, string ModelKind, long Step);

/// <summary>
/// Draws images from a checkpoint directory alone: its manifest names the model kind, its options and the data shape,
/// so the recipe is rebuilt from it and its networks loaded (kind and layouts verified first).
/// </summary>
public static class CheckpointSampler
{
    /// <summary>Loads the checkpoint in <paramref name="directory"/> and draws <paramref name="request"/>; <paramref name="progress"/> gets images done so far.</summary>
    /// <exception cref="CheckpointCorruptException">The directory is not a checkpoint that verifies.</exception>
    /// <exception cref="ArgumentException">A request the model cannot serve (class out of range, no EMA copy); the message names the option.</exception>
    public static SampledImages Sample(string directory, SamplingRequest request, Action<int>? progress = null) =>
        Sample(CheckpointStore.Load(directory), request, progress);

    /// <summary>The checkpoint's recipe, rebuilt from its manifest (kind, options, data shape) with its networks loaded.</summary>
    public static ITrainingRecipe LoadRecipe(LoadedCheckpoint checkpoint)
    {
        var spec = checkpoint.Manifest.ReadSpec(checkpoint.Directory);
        var shape = checkpoint.Manifest.Data ?? new ImageShape(1, 28, 28, 10);
        var recipe = RecipeRegistry.Create(spec.Model, new RecipeSetup
        {
            Seed = spec.Seed, Channels = shape.Channels, Height = shape.Height, Width = shape.Width, Classes = shape.Classes,
        });
        try
        {
            RecipeCheckpoint.Load(recipe, checkpoint, networksOnly: true);
            return recipe;
        }
        catch
        {
            recipe.Dispose();
            throw;
        }
    }

    /// <summary>Draws <paramref name="request"/> from an already verified checkpoint.</summary>
    public static SampledImages Sample(LoadedCheckpoint checkpoint, SamplingRequest request, Action<int>? progress = null)
    {
        if (request.Count < 1) throw new ArgumentException($"--count must be >= 1, got {request.Count}", nameof(request));
        using var recipe = LoadRecipe(checkpoint);
        return Sample(recipe, checkpoint, request, progress);
    }

    /// <summary>Draws <paramref name="request"/> from <paramref name="recipe"/>, already loaded from <paramref name="checkpoint"/> (<see cref="LoadRecipe"/>).</summary>
    public static SampledImages Sample(ITrainingRecipe recipe, LoadedCheckpoint checkpoint, SamplingRequest request, Action<int>? progress = null)
    {
        if (request.Count < 1) throw new ArgumentException($"--count must be >= 1, got {request.Count}", nameof(request));
        var directory = checkpoint.Directory;
        var shape = checkpoint.Manifest.Data ?? new ImageShape(1, 28, 28, 10);
        if (!recipe.CanSample)
            throw new ArgumentException($"{directory}: the {recipe.Kind} model cannot draw samples: " +
                (recipe is IReconstructingRecipe ? "it has no trained prior (it reconstructs; see sample --reconstruct)" : "no sampler"), nameof(request));
        if (request.Ema && !recipe.HasEma)
            throw new ArgumentException($"--ema: the {recipe.Kind} checkpoint {directory} has no EMA generator (the job ran with emaDecay 0)", nameof(request));
        if (request.ClassLabel is { } label)
        {
            if (recipe.Classes == 0)
                throw new ArgumentException($"--class: model kind '{recipe.Kind}' is unconditional; it takes no class", nameof(request));
            if (label < 0 || label >= recipe.Classes)
                throw new ArgumentException($"--class must be in 0..{recipe.Classes - 1} for this model, got {label}", nameof(request));
        }

        var pixels = new byte[(long)request.Count * shape.Channels * shape.Height * shape.Width];
        var labels = recipe.Classes > 0 ? new long[request.Count] : null;
        var offset = 0;
        for (var start = 0; start < request.Count; start += request.BatchSize)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(request.BatchSize, request.Count - start);
            // Labels spread evenly over the whole request (class blocks), not per batch.
            var batchLabels = recipe.Classes > 0
                ? Enumerable.Range(start, count).Select(i => (long)(request.ClassLabel ?? (int)((long)i * recipe.Classes / request.Count))).ToArray()
                : null;
            using var batch = recipe.Sample(new SampleRequest(count, request.ClassLabel, request.Ema, request.Seed * 1_000_003 + start, request.Truncation, batchLabels, request.Temperature, request.BottomTemperature));
            var bytes = ImageArray.FromTensor(batch.Images).Pixels;
            bytes.CopyTo(pixels.AsSpan(offset));
            offset += bytes.Length;
            if (labels is not null && batch.Labels is not null)
                batch.Labels.data<long>().ToArray().CopyTo(labels, start);
            progress?.Invoke(start + count);
        }
        return new SampledImages(new ImageArray(pixels, request.Count, shape.Channels, shape.Height, shape.Width), labels, recipe.Kind, checkpoint.Manifest.Step);
    }
}
