using System.Globalization;
using System.Text;
using System.Text.Json;

namespace GenCluster.Trainer.Evaluation;

/// <summary>How much of one codebook real images use.</summary>
/// <param name="Level">Level name (<c>top</c>, <c>bottom</c>, <c>codes</c>).</param>
/// <param name="CodebookSize">Codes in the codebook (K).</param>
/// <param name="Used">Codes assigned to at least one position of the images.</param>
/// <param name="Perplexity">exp of the entropy of the codes' frequencies (K when all are used equally).</param>
public sealed record CodebookUsage(string Level, int CodebookSize, int Used, double Perplexity)
{
    /// <summary>Used / K.</summary>
    public double Share => (double)Used / CodebookSize;

    /// <summary>The use of a codebook from how often each of its codes was assigned.</summary>
    public static CodebookUsage From(string level, IReadOnlyList<double> counts)
    {
        var total = counts.Sum();
        var entropy = total > 0 ? -counts.Where(n => n > 0).Sum(n => n / total * Math.Log(n / total)) : 0;
        return new CodebookUsage(level, counts.Count, counts.Count(n => n > 0), Math.Exp(entropy));
    }
}

/// <summary>An autoencoder measured on held-out images: the reconstruction error and the use of each codebook.</summary>
/// <param name="Images">Images reconstructed.</param>
/// <param name="Mse">Mean squared error per pixel, pixels in [0, 1].</param>
/// <param name="Codebooks">Per level (top first); empty for continuous latents.</param>
/// <param name="Fid">
/// Fréchet distance of the reconstructions to the test split, when measured: samples decoded by the same decoder are
/// unlikely to come closer, so it bounds what a prior over the codes can reach.
/// </param>
/// <param name="NegElbo">
/// The VAE's negative ELBO in nats per image on these images (one z per image, the KL in closed form): an upper bound
/// on −log p(x) of held-out data; null for models without one.
/// </param>
public sealed record ReconstructionReport(int Images, double Mse, IReadOnlyList<CodebookUsage> Codebooks, double? Fid = null, double? NegElbo = null)
{
    /// <summary>File written into the run directory by the end-of-job evaluation.</summary>
    public const string FileName = "reconstruction.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>The report as JSON (snake_case).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A few readable lines.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"reconstruction MSE {Mse:F5} per pixel (pixels in [0, 1]) over {Images} test images");
        foreach (var c in Codebooks)
            text.AppendLine(CultureInfo.InvariantCulture, $"codebook {c.Level,-7} {c.Used}/{c.CodebookSize} codes used ({c.Share:P1}), perplexity {c.Perplexity:F1}");
        if (Fid is { } fid)
            text.AppendLine(CultureInfo.InvariantCulture, $"reconstructions' FID {fid:F3} (the decoder's own distance from the data)");
        if (NegElbo is { } elbo)
            text.AppendLine(CultureInfo.InvariantCulture, $"negative ELBO {elbo:F2} nats per image over the {Images} test images (one z per image, the KL in closed form)");
        return text.ToString();
    }

    /// <summary>The figures for the job status and metrics.</summary>
    public IReadOnlyDictionary<string, double> Figures()
    {
        var figures = new Dictionary<string, double> { ["reconstruction_mse"] = Mse };
        foreach (var c in Codebooks) figures[$"codebook_usage_{c.Level}"] = c.Share;
        if (Fid is { } fid) figures["reconstruction_fid"] = fid;
        if (NegElbo is { } elbo) figures["neg_elbo_test"] = elbo;
        return figures;
    }
}
