using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class HierarchicalLatentsTests
{
    [Fact]
    public void SplitGivesEqualChunksInOrder()
    {
        using var scope = torch.NewDisposeScope();
        var z = torch.arange(24, dtype: ScalarType.Float32).reshape(2, 12);

        var chunks = HierarchicalLatents.Split(z, 3);

        Assert.Equal(3, chunks.Length);
        for (var k = 0; k < 3; k++)
        {
            Assert.Equal([2L, 4L], chunks[k].shape);
            Assert.True(chunks[k].equal(z[.., (4 * k)..(4 * k + 4)]).all().item<bool>());
        }
        Assert.True(torch.cat(chunks, 1).equal(z).all().item<bool>());
    }

    [Fact]
    public void ConditionPutsTheEmbeddingFirst()
    {
        using var scope = torch.NewDisposeScope();
        var embedding = torch.ones(2, 3);
        var chunk = torch.zeros(2, 5);

        var condition = HierarchicalLatents.Condition(embedding, chunk);

        Assert.Equal([2L, 8L], condition.shape);
        Assert.True(condition[.., ..3].equal(embedding).all().item<bool>());
        Assert.True(condition[.., 3..].equal(chunk).all().item<bool>());
    }

    [Fact]
    public void IndivisibleDimensionIsAnErrorNamingBothNumbers()
    {
        using var z = torch.zeros(2, 10);
        var ex = Assert.Throws<ArgumentException>(() => HierarchicalLatents.Split(z, 3));
        Assert.Contains("10", ex.Message);
        Assert.Contains("3", ex.Message);
    }
}
