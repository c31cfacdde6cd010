using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;

/// <summary>Reconstructs held-out images with an autoencoder and measures the error and the codebooks' use.</summary>
public static class ReconstructionEvaluator
{
    /// <summary>
    /// The reconstruction report of <paramref name="recipe"/> on <paramref name="images"/> when it is an autoencoder; null
    /// otherwise. With <paramref name="evaluator"/>, it includes the FID of the reconstructions.
    /// </summary>
    public static ReconstructionReport? EvaluateIfAutoencoder(ITrainingRecipe recipe, ImageArray images, SampleEvaluator? evaluator = null, Action<int>? progress = null) =>
        recipe is IReconstructingRecipe autoencoder ? Evaluate(autoencoder, images, evaluator is null ? null : r => evaluator.Evaluate(r).Fid, progress: progress) : null;

    /// <summary>
    /// Runs <paramref name="recipe"/> over <paramref name="images"/> in batches; <paramref name="progress"/> gets images done.
    /// <paramref name="distance"/>, when given, measures the reconstructions as a set (<see cref="ReconstructionReport.Fid"/>):
    /// a prior whose samples decode through the same decoder can come no closer to the data than that. A recipe with an
    /// evidence lower bound (<see cref="IElboRecipe"/>) gets its mean negative ELBO over the images too.
    /// </summary>
    public static ReconstructionReport Evaluate(IReconstructingRecipe recipe, ImageArray images, Func<ImageArray, double>? distance = null, int batchSize = 500, Action<int>? progress = null)
    {
        double squared = 0;
        var reconstructed = distance is null ? null : new byte[images.Pixels.Length];
        Dictionary<string, long[]> counts = [];
        var order = new List<string>();
        // The VAE's bound: one z per image, from a stream fixed by the evaluation, so the figure repeats.
        var elbo = recipe as IElboRecipe;
        using var noise = elbo is null ? null : new torch.Generator(0);
        double negativeElbo = 0;
        for (var start = 0; start < images.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var count = Math.Min(batchSize, images.Count - start);
            var batch = images.Batch(start, count);
            var reconstruction = recipe.Reconstruct(batch);
            // [−1, 1] → [0, 1]: a quarter of the squared difference.
            squared += (reconstruction - batch).square().sum().item<float>() / 4;
            if (reconstructed is not null)
                ImageArray.FromTensor(reconstruction).Pixels.CopyTo(reconstructed.AsSpan(start * images.ImageBytes));
            if (elbo is not null)
                negativeElbo += elbo.NegativeElboPerImage(batch, noise!).to(ScalarType.Float64).sum().item<double>();
            foreach (var (level, size, codes) in recipe.Codes(batch))
            {
                if (!counts.TryGetValue(level, out var total))
                {
                    total = new long[size];
                    counts[level] = total;
                    order.Add(level);
                }
                var histogram = codes.reshape(-1).bincount(null, size).data<long>().ToArray();
                for (var k = 0; k < size; k++) total[k] += histogram[k];
                codes.Dispose();
            }
            progress?.Invoke(start + count);
        }
        var mse = squared / ((double)images.Count * images.ImageBytes);
        var codebooks = order.Select(level => CodebookUsage.From(level, counts[level].Select(n => (double)n).ToList())).ToList();
        var fid = reconstructed is null ? (double?)null : distance!(images with { Pixels = reconstructed });
        return new ReconstructionReport(images.Count, mse, codebooks, fid, elbo is null ? null : negativeElbo / images.Count);
    }
}
