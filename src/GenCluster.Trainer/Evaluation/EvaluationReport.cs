using System.Globalization;
using System.Text;
using System.Text.Json;

namespace GenCluster.Trainer.Evaluation;

/// <summary>The sample-quality figures of one set of 28×28 grey images against MNIST's test split.</summary>
/// <param name="Dataset">Reference data set (<c>mnist</c>).</param>
/// <param name="SampleCount">Number of images evaluated.</param>
/// <param name="ReferenceCount">Images of the reference (test) split.</param>
/// <param name="Fid">Fréchet distance between the classifier features of the samples and of the test split.</param>
/// <param name="FidFloor">The same for <paramref name="FloorCount"/> real training images: what a perfect generator scores.</param>
/// <param name="FidRatio"><paramref name="Fid"/> / <paramref name="FidFloor"/>.</param>
/// <param name="KidMean">KID (unbiased MMD², cubic kernel) mean over subsets.</param>
/// <param name="KidStd">KID standard deviation over subsets.</param>
/// <param name="KidFloorMean">KID of the floor images.</param>
/// <param name="KidFloorStd">Its standard deviation over subsets.</param>
/// <param name="KidSubsets">KID subsets.</param>
/// <param name="KidSubsetSize">Rows per KID subset.</param>
/// <param name="FloorCount">Training images behind the floors (a fixed seeded subset).</param>
/// <param name="ClassShares">Share of samples the classifier assigns to each digit 0–9.</param>
/// <param name="ClassesPresent">Digits with a share of at least <see cref="PresentShare"/>.</param>
/// <param name="LabelAccuracy">Share of samples whose predicted digit equals their label; null without labels.</param>
/// <param name="ClassifierTestAccuracy">The feature classifier's accuracy on the test split, measured in this evaluation.</param>
/// <param name="ClassifierVersion">The feature classifier's version.</param>
/// <param name="ClassifierSha256">SHA-256 of its weights file: FIDs are comparable only under the same one.</param>
public sealed record EvaluationReport(
    string Dataset,
    int SampleCount,
    int ReferenceCount,
    double Fid,
    double FidFloor,
    double FidRatio,
    double KidMean,
    double KidStd,
    double KidFloorMean,
    double KidFloorStd,
    int KidSubsets,
    int KidSubsetSize,
    int FloorCount,
    IReadOnlyList<double> ClassShares,
    int ClassesPresent,
    double? LabelAccuracy,
    double ClassifierTestAccuracy,
    string ClassifierVersion,
    string ClassifierSha256)
{
    /// <summary>The share from which a digit counts as present.</summary>
    public const double PresentShare = 0.05;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>The report as indented JSON with snake_case names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The report as aligned lines for a terminal.</summary>
    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        void Line(string name, string value) => text.Append(c, $"{name,-18}{value}\n");
        Line("samples", string.Create(c, $"{SampleCount} images vs {Dataset} test split ({ReferenceCount})"));
        Line("FID", string.Create(c, $"{Fid,12:F3}   floor {FidFloor:F3}   ratio {FidRatio:F2}x"));
        Line("KID", string.Create(c, $"{KidMean,12:F5}   ± {KidStd:F5}   floor {KidFloorMean:F5} ± {KidFloorStd:F5}   ({KidSubsets} subsets of {KidSubsetSize})"));
        Line("floor", string.Create(c, $"{FloorCount} real training images"));
        Line("classes present", string.Create(c, $"{ClassesPresent,12} of {ClassShares.Count} (share >= {100 * PresentShare:F0}%)"));
        Line("class shares", string.Join("  ", ClassShares.Select((share, digit) => string.Create(c, $"{digit}:{100 * share,5:F1}%"))));
        Line("label accuracy", LabelAccuracy is { } accuracy ? string.Create(c, $"{100 * accuracy,11:F2}%") : $"{"n/a",12} (no labels)");
        Line("classifier", string.Create(c, $"{ClassifierVersion}, test accuracy {100 * ClassifierTestAccuracy:F2}%, sha256 {ClassifierSha256[..Math.Min(12, ClassifierSha256.Length)]}"));
        return text.ToString();
    }
}
