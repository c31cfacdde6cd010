using GenCluster.Contracts.Models;
using GenCluster.Trainer.Objectives;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Recipes.Gan;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Tests.Support;

/// <summary>A small fully-connected G for 8×8 images: no batch-coupled layers, so data-parallel equivalence is exact.</summary>
public sealed class TinyGenerator : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public TinyGenerator(int latent, int hidden, int size) : base(nameof(TinyGenerator))
    {
        Size = size;
        fc1 = Linear(latent, hidden);
        fc2 = Linear(hidden, size * size);
        RegisterComponents();
    }

    public int Size { get; }

    public override Tensor forward(Tensor z, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = functional.relu(fc1.call(z));
        return scope.MoveToOuter(torch.tanh(fc2.call(x)).view(z.shape[0], 1, Size, Size));
    }
}

/// <summary>A small fully-connected D for 8×8 images; <see cref="Poison"/> makes its output NaN.</summary>
public sealed class TinyDiscriminator : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public TinyDiscriminator(int hidden, int size) : base(nameof(TinyDiscriminator))
    {
        fc1 = Linear(size * size, hidden);
        fc2 = Linear(hidden, 1);
        RegisterComponents();
    }

    public bool Poison { get; set; }

    public override Tensor forward(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var x = functional.leaky_relu(fc1.call(images.flatten(1)), 0.2);
        var logits = fc2.call(x).view(-1);
        if (Poison) logits = logits * float.NaN;
        return scope.MoveToOuter(logits);
    }
}

public static class TinyGan
{
    public const int Latent = 4;

    /// <summary>Tiny G and D initialised from <paramref name="seed"/> only (not torch's global generator, which tests running in parallel share).</summary>
    public static GanNetworks Create(long seed, int hidden = 16, int size = 8)
    {
        var g = new TinyGenerator(Latent, hidden, size);
        var d = new TinyDiscriminator(hidden, size);
        using var random = new torch.Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        foreach (var p in g.parameters().Concat(d.parameters()))
        {
            using var values = torch.randn(p.shape, generator: random);
            using var scaled = values.mul(0.2);
            p.copy_(scaled);
        }
        return new GanNetworks(g, d, () => new TinyGenerator(Latent, hidden, size), Latent);
    }

    /// <summary>A GAN recipe of <paramref name="options"/>'s kind around tiny networks, for rank <paramref name="rank"/> of a round of <paramref name="worldSize"/>.</summary>
    /// <remarks><paramref name="overlap"/> all-reduces buckets during backward; <paramref name="bucketBytes"/> 1 puts every parameter in its own bucket.</remarks>
    public static GanRecipe Recipe(GanOptions options, GanNetworks networks, int worldSize, int rank = 0, bool shardOptimizer = false,
        bool overlap = false, long bucketBytes = 8192) =>
        new(options, networks, GanObjectives.For(options),
            new RecipeSetup { WorldSize = worldSize, Rank = rank, ShardOptimizer = shardOptimizer, BucketBytes = bucketBytes, Height = 8, Width = 8, OverlapBackward = overlap });
}
