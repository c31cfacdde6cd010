namespace GenCluster.Trainer.Recipes.Gan;

/// <summary>Analytic multiply-accumulate counts of <see cref="DcganGenerator"/> and <see cref="DcganDiscriminator"/> (convolutions only; BatchNorm and activations are negligible).</summary>
public static class DcganFlops
{
    /// <summary>Forward MACs of G for one image: Cin·Cout·k²·(input pixels) per transposed convolution.</summary>
    public static long GeneratorMacs(int latentDim, int width)
    {
        long w = width;
        return latentDim * 4 * w * 16 * 1
            + 4 * w * 2 * w * 9 * 16
            + 2 * w * w * 16 * 49
            + w * 1 * 16 * 196;
    }

    /// <summary>Forward MACs of D for one image: Cin·Cout·k²·(output pixels) per convolution.</summary>
    public static long DiscriminatorMacs(int width)
    {
        long w = width;
        return 1 * w * 16 * 196
            + w * 2 * w * 16 * 49
            + 2 * w * 4 * w * 9 * 16
            + 4 * w * 1 * 16 * 1;
    }

    /// <summary>
    /// FLOPs of one training step per image (2 per MAC): the D update runs G forward and D forward+backward on real
    /// and generated images (G + 6·D, backward ≈ 2× forward); the G update runs D forward, D backward to its input
    /// only (D's weights are frozen) and G backward (2·D + 2·G). Total 3·G + 8·D MACs.
    /// </summary>
    public static double TrainingFlopsPerImage(int latentDim, int width) =>
        2.0 * (3.0 * GeneratorMacs(latentDim, width) + 8.0 * DiscriminatorMacs(width));
}
