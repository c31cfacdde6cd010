using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Evaluation;

[Collection(SmallEvaluationCollection.Name)]
public class ClassifierCacheTests(SmallEvaluationFixture fixture)
{
    [Fact]
    public void TrainsOnceThenLoadsAndRetrainsWhenTheWeightsDoNotMatchTheirHash()
    {
        using var temp = RepoPaths.NewTemp();
        var log = new StringWriter();
        var cache = new ClassifierCache(temp.Path, fixture.Classifier, log);

        ClassifierCard card;
        using (var trained = cache.LoadOrTrain(fixture.Data))
        {
            Assert.True(trained.Trained);
            card = trained.Card;
            Assert.Equal(ClassifierCache.Version, card.Version);
            Assert.True(card.TestAccuracy > 0.9, $"test accuracy {card.TestAccuracy} after two epochs on 6000 images");
            Assert.True(File.Exists(cache.WeightsPath) && File.Exists(cache.CardPath));
            Assert.Contains("epoch 2/2 step 47/47", log.ToString());
            Assert.Contains("does not exist", log.ToString());
        }
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp"));

        using (var loaded = cache.LoadOrTrain(fixture.Data))
        {
            Assert.False(loaded.Trained);
            Assert.Equal(card, loaded.Card);
            using var features = FeatureExtractor.Compute(loaded.Model, fixture.Data.TestImages);
            Assert.Equal(card.TestAccuracy, features.Accuracy(fixture.Data.TestLabels));
        }

        var bytes = File.ReadAllBytes(cache.WeightsPath);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(cache.WeightsPath, bytes);
        log.GetStringBuilder().Clear();
        Assert.Contains("SHA-256", cache.CheckCache(out _));
        using (var retrained = cache.LoadOrTrain(fixture.Data))
        {
            Assert.True(retrained.Trained);
            Assert.Contains($"{cache.WeightsPath} has SHA-256", log.ToString());
        }
    }

    [Fact]
    public void OtherTrainingOptionsAreNotServedFromTheCache()
    {
        using var temp = RepoPaths.NewTemp();
        var options = fixture.Classifier with { TrainLimit = 512 };
        using (new ClassifierCache(temp.Path, options, TextWriter.Null).LoadOrTrain(fixture.Data)) { }

        var problem = new ClassifierCache(temp.Path, options with { Seed = options.Seed + 1 }, TextWriter.Null).CheckCache(out _);
        Assert.Contains("was trained with", problem);
        Assert.Null(new ClassifierCache(temp.Path, options, TextWriter.Null).CheckCache(out _));
    }

    [Fact]
    public void TrainingIsDeterministicForASeed()
    {
        using var first = RepoPaths.NewTemp();
        using var second = RepoPaths.NewTemp();
        var options = fixture.Classifier with { TrainLimit = 512 };
        using var a = new ClassifierCache(first.Path, options, TextWriter.Null).LoadOrTrain(fixture.Data);
        using var b = new ClassifierCache(second.Path, options, TextWriter.Null).LoadOrTrain(fixture.Data);
        Assert.Equal(a.Card.WeightsSha256, b.Card.WeightsSha256);
    }
}
