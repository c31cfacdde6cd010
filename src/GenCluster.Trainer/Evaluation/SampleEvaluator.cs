using System.Globalization;
using System.Text.Json;
using GenCluster.Trainer.Imaging;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;
/// <summary>
/// Measures generated 28×28 grey images against MNIST's test split in the feature space of
/// <see cref="MnistFeatureClassifier"/>: FID, KID, their floors (real training images), the predicted-class histogram
/// and, given labels, how often the classifier agrees with them.
/// </summary>
/// <remarks>
/// Creating one loads MNIST, loads or trains the classifier (<see cref="ClassifierCache"/>), computes the test split's
/// features and loads or computes the floor (cached as <c>feature-floor-v1.json</c> beside the classifier). FID is
/// computed on the raw features; KID on features divided by the test split's RMS feature value (a constant of the
/// classifier), so that xᵀy/d is of order 1 in its cubic kernel.
/// </remarks>
public sealed class SampleEvaluator : IDisposable
{
    private readonly SampleEvaluatorOptions _options;
    private readonly CachedClassifier _classifier;
    private readonly FeatureSet _test;
    private readonly GaussianMoments _testMoments;
    private readonly Tensor _testKidFeatures;
    private readonly double _kidScale;

    private SampleEvaluator(SampleEvaluatorOptions options, MnistSplits data, CachedClassifier classifier, FeatureSet test, GaussianMoments testMoments)
    {
        _options = options;
        Data = data;
        _classifier = classifier;
        _test = test;
        _testMoments = testMoments;
        // The cubic kernel is not scale-free: ReLU features of a small classifier run to tens, where (xᵀy/d + 1)³ is
        // dominated by a few large products and the estimate's spread swamps its mean. Dividing by the test split's
        // RMS feature value puts xᵀy/d at O(1), the range the kernel was designed for (Inception pool features).
        _kidScale = 1 / Math.Sqrt(test.Features.square().mean().item<double>());
        _testKidFeatures = test.Features * _kidScale;
        ClassifierTestAccuracy = test.Accuracy(data.TestLabels);
    }

    /// <summary>The MNIST splits it measures against.</summary>
    public MnistSplits Data { get; }

    /// <summary>The classifier's card.</summary>
    public ClassifierCard Classifier => _classifier.Card;

    /// <summary>Accuracy of the classifier on the test split, measured when this evaluator was created.</summary>
    public double ClassifierTestAccuracy { get; }

    /// <summary>The floor figures.</summary>
    public EvaluationFloor Floor { get; private set; } = null!;

    /// <summary>Loads data, classifier and floor (training and computing what is not cached); progress goes to <paramref name="log"/>.</summary>
    public static async Task<SampleEvaluator> CreateAsync(SampleEvaluatorOptions options, TextWriter log, CancellationToken cancellationToken = default)
    {
        var data = await MnistSplits.LoadAsync(options.DataDirectory, options.SharedDatasetDirectory, cancellationToken);
        var directory = Path.Combine(options.DataDirectory, "mnist");
        var classifier = new ClassifierCache(directory, options.Classifier, log).LoadOrTrain(data);
        FeatureSet? test = null;
        GaussianMoments? moments = null;
        try
        {
            test = FeatureExtractor.Compute(classifier.Model, data.TestImages);
            moments = GaussianMoments.Fit(test.Features);
            var evaluator = new SampleEvaluator(options, data, classifier, test, moments);
            evaluator.Floor = evaluator.LoadOrComputeFloor(Path.Combine(directory, $"feature-floor-{ClassifierCache.Version}.json"), log);
            return evaluator;
        }
        catch
        {
            moments?.Dispose();
            test?.Dispose();
            classifier.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Evaluates <paramref name="images"/> (N × 1 × 28 × 28, N ≥ 2) and, when given, their intended digits
    /// <paramref name="labels"/> (one per image).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong shape or label count; the message gives expected and actual.</exception>
    public EvaluationReport Evaluate(ImageArray images, IReadOnlyList<long>? labels = null)
    {
        if (images.Channels != 1 || images.Height != 28 || images.Width != 28 || images.Count < 2)
            throw new ArgumentException($"images are {images.ShapeText}, expected (N, 1, 28, 28) with N >= 2", nameof(images));
        if (labels is not null && labels.Count != images.Count)
            throw new ArgumentException($"{labels.Count} labels for {images.Count} images", nameof(labels));

        using var samples = FeatureExtractor.Compute(_classifier.Model, images);
        using var moments = GaussianMoments.Fit(samples.Features);
        var fid = FrechetDistance.FromMoments(moments, _testMoments);
        var kid = Kid(samples);

        var shares = new double[MnistFeatureClassifier.ClassCount];
        foreach (var predicted in samples.Predictions) shares[predicted] += 1.0 / samples.Count;
        return new EvaluationReport(
            Dataset: "mnist",
            SampleCount: images.Count,
            ReferenceCount: _test.Count,
            Fid: fid,
            FidFloor: Floor.Fid,
            FidRatio: fid / Floor.Fid,
            KidMean: kid.Mean,
            KidStd: kid.Std,
            KidFloorMean: Floor.KidMean,
            KidFloorStd: Floor.KidStd,
            KidSubsets: kid.Subsets,
            KidSubsetSize: kid.SubsetSize,
            FloorCount: Floor.FloorCount,
            ClassShares: shares,
            ClassesPresent: shares.Count(s => s >= EvaluationReport.PresentShare),
            LabelAccuracy: labels is null ? null : samples.Accuracy(labels),
            ClassifierTestAccuracy: ClassifierTestAccuracy,
            ClassifierVersion: Classifier.Version,
            ClassifierSha256: Classifier.WeightsSha256);
    }

    /// <summary>The seeded subset of training images behind the floor.</summary>
    public ImageArray FloorImages()
    {
        var train = Data.TrainImages;
        var count = Math.Min(_options.FloorCount, train.Count);
        var order = Enumerable.Range(0, train.Count).ToArray();
        new Random(_options.FloorSeed).Shuffle(order);
        var pixels = new byte[count * train.ImageBytes];
        for (var i = 0; i < count; i++)
            train.Pixels.AsSpan(order[i] * train.ImageBytes, train.ImageBytes).CopyTo(pixels.AsSpan(i * train.ImageBytes));
        return new ImageArray(pixels, count, train.Channels, train.Height, train.Width);
    }

    /// <summary>Disposes the classifier and the test features.</summary>
    public void Dispose()
    {
        _testKidFeatures.Dispose();
        _testMoments.Dispose();
        _test.Dispose();
        _classifier.Dispose();
    }

    private KernelDistanceResult Kid(FeatureSet samples)
    {
        using var scaled = samples.Features * _kidScale;
        return KernelDistance.Compute(scaled, _testKidFeatures, _options.KidSubsets, _options.KidSubsetSize, _options.KidSeed);
    }

    private EvaluationFloor LoadOrComputeFloor(string path, TextWriter log)
    {
        var expected = new EvaluationFloor(Classifier.WeightsSha256, _options.FloorCount, _options.FloorSeed,
            _options.KidSubsets, _options.KidSubsetSize, _options.KidSeed, 0, 0, 0);
        if (File.Exists(path))
        {
            try
            {
                var cached = JsonSerializer.Deserialize<EvaluationFloor>(File.ReadAllText(path), ClassifierCard.Json);
                if (cached is not null && cached with { Fid = 0, KidMean = 0, KidStd = 0 } == expected) return cached;
                log.WriteLine($"evaluation floor: {path} was measured with other weights or options; measuring again");
            }
            catch (JsonException ex)
            {
                log.WriteLine($"evaluation floor: {path} is not readable ({ex.Message}); measuring again");
            }
        }

        using var floor = FeatureExtractor.Compute(_classifier.Model, FloorImages());
        using var moments = GaussianMoments.Fit(floor.Features);
        var kid = Kid(floor);
        var result = expected with { Fid = FrechetDistance.FromMoments(moments, _testMoments), KidMean = kid.Mean, KidStd = kid.Std };
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"evaluation floor: FID {result.Fid:F4}, KID {result.KidMean:F6} ± {result.KidStd:F6} ({floor.Count} training images vs the test split)"));

        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllText(temp, JsonSerializer.Serialize(result, ClassifierCard.Json));
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return result;
    }
}
