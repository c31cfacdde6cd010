using GenCluster.Trainer.Data;
using GenCluster.Trainer.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Imaging;

/// <summary>Inputs and their reconstructions side by side: rows alternate between real images and what the autoencoder makes of them.</summary>
public static class ReconstructionGrid
{
    /// <summary>Pairs of rows (inputs, reconstructions) of <paramref name="columns"/> images.</summary>
    public const int RowPairs = 4;

    /// <summary>Interleaves <paramref name="inputs"/> and <paramref name="reconstructions"/> [N, C, H, W] row by row (N a multiple of <paramref name="columns"/>).</summary>
    public static Tensor Interleave(Tensor inputs, Tensor reconstructions, int columns)
    {
        var n = inputs.shape[0];
        var rows = n / columns;
        var shape = new[] { rows, 1L, columns, inputs.shape[1], inputs.shape[2], inputs.shape[3] };
        return torch.cat([inputs.reshape(shape), reconstructions.reshape(shape)], 1).reshape(2 * rows * columns, inputs.shape[1], inputs.shape[2], inputs.shape[3]);
    }

    /// <summary>Reconstructs the first images of <paramref name="data"/> and writes the side-by-side PNG to <paramref name="path"/>.</summary>
    public static void WritePng(string path, IReconstructingRecipe recipe, ImageDataset data, int columns)
    {
        using var scope = torch.NewDisposeScope();
        var count = Math.Min(data.Count / columns, RowPairs) * columns;
        var inputs = data.Batch(Enumerable.Range(0, count).ToArray());
        SampleGrid.WritePng(path, Interleave(inputs, recipe.Reconstruct(inputs), columns), columns);
    }
}
