using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Evaluation;
/// <summary>
/// Trains <see cref="MnistFeatureClassifier"/> once on the MNIST training split and keeps it as
/// <c>feature-classifier-v1.bin</c> plus <c>feature-classifier-v1.json</c> (its <see cref="ClassifierCard"/>) in a
/// directory; later calls load it. A missing or unreadable card, another version or other training options, or weights
/// whose SHA-256 differs from the card are reported on the log and retrained.
/// </summary>
/// <remarks>
/// Training is seeded: weights from a torch generator, data order from <see cref="Random"/>; with the same thread count
/// it gives the same weights. Both files are written under temporary names and renamed, weights first, so a reader never
/// sees a card that describes weights not yet in place.
/// </remarks>
public sealed class ClassifierCache(string directory, ClassifierTrainingOptions options, TextWriter log)
{
    /// <summary>Version of the architecture, training and file layout; part of the file names.</summary>
    public const string Version = "v1";

    private const int LogEvery = 200;

    /// <summary>The weights file.</summary>
    public string WeightsPath { get; } = Path.Combine(directory, $"feature-classifier-{Version}.bin");

    /// <summary>The card beside it.</summary>
    public string CardPath { get; } = Path.Combine(directory, $"feature-classifier-{Version}.json");

    /// <summary>Loads the cached classifier, training and caching it first when there is no valid one.</summary>
    public CachedClassifier LoadOrTrain(MnistSplits data)
    {
        var problem = CheckCache(out var card);
        if (problem is null)
        {
            var model = new MnistFeatureClassifier();
            model.load(WeightsPath);
            model.eval();
            return new CachedClassifier(model, card!, Trained: false);
        }
        log.WriteLine($"feature classifier: {problem}; training a new one");
        return Train(data);
    }

    /// <summary>Why the cache cannot be used (null when it can), with the card when it is readable.</summary>
    public string? CheckCache(out ClassifierCard? card)
    {
        card = null;
        if (!File.Exists(CardPath)) return $"{CardPath} does not exist";
        try
        {
            card = JsonSerializer.Deserialize<ClassifierCard>(File.ReadAllText(CardPath), ClassifierCard.Json);
        }
        catch (JsonException ex)
        {
            return $"{CardPath} is not a readable card: {ex.Message}";
        }
        if (card is null) return $"{CardPath} is empty";
        if (card.Version != Version) return $"{CardPath} has version '{card.Version}', expected '{Version}'";
        if (card.Training != options) return $"{CardPath} was trained with {card.Training}, expected {options}";
        if (!File.Exists(WeightsPath)) return $"{WeightsPath} does not exist";
        var actual = Sha256(WeightsPath);
        if (actual != card.WeightsSha256) return $"{WeightsPath} has SHA-256 {actual}, the card expects {card.WeightsSha256}";
        return null;
    }

    private CachedClassifier Train(MnistSplits data)
    {
        var stopwatch = Stopwatch.StartNew();
        var images = data.TrainImages;
        var count = options.TrainLimit > 0 ? Math.Min(options.TrainLimit, images.Count) : images.Count;
        using var generator = new Generator((ulong)options.Seed);
        var model = new MnistFeatureClassifier(generator);
        try
        {
            // torch.optim.Adam's factory defaults: betas (0.9, 0.99).
            using var optimizer = new Training.KeptScalars.Adam(model.parameters(), options.LearningRate, 0.9, 0.99);
            var random = new Random(options.Seed);
            var order = Enumerable.Range(0, count).ToArray();
            var stepsPerEpoch = (count + options.BatchSize - 1) / options.BatchSize;
            var labels = new long[options.BatchSize];
            model.train();
            for (var epoch = 1; epoch <= options.Epochs; epoch++)
            {
                random.Shuffle(order);
                var lossSum = 0.0;
                var lossCount = 0;
                for (var step = 0; step < stepsPerEpoch; step++)
                {
                    using var scope = torch.NewDisposeScope();
                    var indices = order.AsSpan(step * options.BatchSize, Math.Min(options.BatchSize, count - step * options.BatchSize));
                    for (var i = 0; i < indices.Length; i++) labels[i] = data.TrainLabels[indices[i]];
                    var x = images.Batch(indices);
                    var y = torch.tensor(labels.AsSpan(0, indices.Length).ToArray());
                    optimizer.zero_grad();
                    var loss = nn.functional.cross_entropy(model.forward(x), y);
                    loss.backward();
                    optimizer.step();
                    lossSum += loss.item<float>();
                    lossCount++;
                    if ((step + 1) % LogEvery == 0 || step + 1 == stepsPerEpoch)
                    {
                        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"feature classifier: epoch {epoch}/{options.Epochs} step {step + 1}/{stepsPerEpoch} loss {lossSum / lossCount:F4} ({stopwatch.Elapsed.TotalSeconds:F1} s)"));
                        lossSum = 0;
                        lossCount = 0;
                    }
                }
            }
            model.eval();
            var trainSeconds = stopwatch.Elapsed.TotalSeconds;
            double accuracy;
            using (var test = FeatureExtractor.Compute(model, data.TestImages))
                accuracy = test.Accuracy(data.TestLabels);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"feature classifier: test accuracy {100 * accuracy:F2}% after {trainSeconds:F1} s on {torch.get_num_threads()} threads"));

            Directory.CreateDirectory(directory);
            WriteAtomically(WeightsPath, temp => model.save(temp));
            var card = new ClassifierCard(Version, Sha256(WeightsPath), accuracy, trainSeconds, torch.get_num_threads(), options, DateTimeOffset.UtcNow);
            WriteAtomically(CardPath, temp => File.WriteAllText(temp, JsonSerializer.Serialize(card, ClassifierCard.Json)));
            log.WriteLine($"feature classifier: cached in {WeightsPath}");
            return new CachedClassifier(model, card, Trained: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static void WriteAtomically(string path, Action<string> write)
    {
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            write(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
