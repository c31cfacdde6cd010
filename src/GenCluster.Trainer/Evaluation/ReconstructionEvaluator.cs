using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;

/// <summary>Reconstructs held-out images with an autoencoder and measures the error and the codebooks' use.</summary>
public static class ReconstructionEvaluator
{
    /// <summary>Runs <paramref name="recipe"/> over <paramref name="images"/> in batches; <paramref name="progress"/> gets images done.</summary>
    public static ReconstructionReport Evaluate(IReconstructingRecipe recipe, ImageArray images, int batchSize = 500, Action<int>? progress = null)
    {
        double squared = 0;
        Dictionary<string, (int Size, long[] Counts)> counts = [];
        var order = new List<string>();
        for (var start = 0; start < images.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var count = Math.Min(batchSize, images.Count - start);
            var batch = images.Batch(start, count);
            var reconstruction = recipe.Reconstruct(batch);
            // [−1, 1] → [0, 1]: a quarter of the squared difference.
            squared += (reconstruction - batch).square().sum().item<float>() / 4;
            foreach (var (level, size, codes) in recipe.Codes(batch))
            {
                if (!counts.TryGetValue(level, out var entry))
                {
                    entry = (size, new long[size]);
                    counts[level] = entry;
                    order.Add(level);
                }
                var histogram = codes.reshape(-1).bincount(null, size).data<long>().ToArray();
                for (var k = 0; k < size; k++) entry.Counts[k] += histogram[k];
                codes.Dispose();
            }
            progress?.Invoke(start + count);
        }
        var mse = squared / ((double)images.Count * images.ImageBytes);
        var codebooks = order.Select(level =>
        {
            var (size, c) = counts[level];
            var total = (double)c.Sum();
            var entropy = -c.Where(n => n > 0).Sum(n => n / total * Math.Log(n / total));
            return new CodebookUsage(level, size, c.Count(n => n > 0), Math.Exp(entropy));
        }).ToList();
        return new ReconstructionReport(images.Count, mse, codebooks);
    }
}
