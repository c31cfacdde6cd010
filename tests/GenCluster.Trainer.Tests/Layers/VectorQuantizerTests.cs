using GenCluster.Trainer.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Tests.Layers;

public class VectorQuantizerTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.equal(b).all().item<bool>();

    private static VectorQuantizer Quantizer(int codes, int dim, double decay = 0.8, double epsilon = 1e-3, double threshold = 0, ulong seed = 1)
    {
        using var g = new Generator(seed);
        return new VectorQuantizer("vq", codes, dim, decay, epsilon, threshold, g);
    }

    private static void Set(Tensor buffer, float[] values)
    {
        using var noGrad = torch.no_grad();
        buffer.copy_(torch.tensor(values).reshape(buffer.shape));
    }

    /// <summary>[N, D, H, W] → rows [N·H·W][D] in (n, h, w) order.</summary>
    private static double[][] Vectors(Tensor z)
    {
        var flat = z.detach().permute(0, 2, 3, 1).reshape(-1, z.shape[1]).to(ScalarType.Float64).contiguous();
        var values = flat.data<double>().ToArray();
        var d = (int)z.shape[1];
        return Enumerable.Range(0, values.Length / d).Select(i => values.Skip(i * d).Take(d).ToArray()).ToArray();
    }

    private static double[][] Matrix(Tensor m)
    {
        var values = m.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        var cols = (int)m.shape[1];
        return Enumerable.Range(0, values.Length / cols).Select(i => values.Skip(i * cols).Take(cols).ToArray()).ToArray();
    }

    /// <summary>Only the codebook and its moving averages are state (checkpointed, fingerprinted, broadcast), also inside a parent that registers its components; the step's pending statistics are not.</summary>
    [Fact]
    public void StateIsTheCodebookAndItsAveragesOnly()
    {
        using var parent = new GenCluster.Trainer.Recipes.Autoencoder.VqVae2Network(
            new GenCluster.Contracts.Models.VqVae2Options { Width = 8, ResidualWidth = 4, CodebookSize = 8, CodeDim = 4 }, 1, 28, new Generator(1));
        var keys = parent.state_dict().Keys.Where(k => k.StartsWith("quantize_top.", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        Assert.Equal(["quantize_top.cluster_size", "quantize_top.embed_sum", "quantize_top.embedding"], keys);
    }

    [Fact]
    public void QuantizePicksTheNearestCode()
    {
        using var scope = torch.NewDisposeScope();
        using var vq = Quantizer(5, 3);
        float[] book = [0, 0, 0, 1, 1, 1, -2, 0, 1, 0, 3, -1, 0.5f, -0.5f, 2];
        using (torch.no_grad()) vq.Embedding.copy_(torch.tensor(book).reshape(5, 3));
        using var g = new Generator(2);
        var z = torch.randn([2, 3, 3, 4], generator: g).mul(1.5);

        var q = vq.Quantize(z);

        var vectors = Vectors(z);
        var codes = q.Codes.reshape(-1).data<long>().ToArray();
        Assert.Equal(new long[] { 2, 3, 4 }, q.Codes.shape);
        Assert.Equal(ScalarType.Int64, q.Codes.dtype);
        var used = new HashSet<long>();
        for (var i = 0; i < vectors.Length; i++)
        {
            var distances = Enumerable.Range(0, 5)
                .Select(k => Enumerable.Range(0, 3).Sum(j => Math.Pow(vectors[i][j] - book[k * 3 + j], 2))).ToArray();
            var best = Array.IndexOf(distances, distances.Min());
            Assert.Equal(best, codes[i]);
            used.Add(codes[i]);
        }
        Assert.True(used.Count >= 3, "the test should exercise several codes");
        // The forward value is the chosen code.
        var quantized = Vectors(q.StraightThrough);
        for (var i = 0; i < vectors.Length; i++)
            for (var j = 0; j < 3; j++) Assert.Equal(book[codes[i] * 3 + j], quantized[i][j], 1e-6);
        Assert.True(vq.Lookup(q.Codes).allclose(q.StraightThrough, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void StraightThroughPassesTheGradientToTheEncoderUnchanged()
    {
        using var scope = torch.NewDisposeScope();
        using var vq = Quantizer(6, 4);
        using var g = new Generator(3);
        var z = torch.randn([2, 4, 3, 3], generator: g).requires_grad_();
        var w = torch.randn([2, 4, 3, 3], generator: g);

        var q = vq.Quantize(z);
        (q.StraightThrough * w).sum().backward();

        Assert.True(Same(z.grad!, w), "z.grad must equal w exactly");
        Assert.False(vq.Embedding.requires_grad);
        Assert.Null(vq.Embedding.grad);
        Assert.Empty(vq.parameters());
    }

    [Fact]
    public void CommitmentGradientIsTwiceTheDistanceToTheCodeOverNumel()
    {
        using var scope = torch.NewDisposeScope();
        using var vq = Quantizer(6, 4);
        vq.to(ScalarType.Float64);
        using var g = new Generator(4);
        var z = torch.randn([2, 4, 3, 3], dtype: ScalarType.Float64, generator: g).requires_grad_();

        var q = vq.Quantize(z);
        q.Commitment.backward();

        var codeVectors = vq.Lookup(q.Codes);
        var expected = (z.detach() - codeVectors).mul(2.0 / z.numel());
        Assert.True(z.grad!.allclose(expected, rtol: 1e-12, atol: 1e-15));
        Assert.Equal((z.detach() - codeVectors).square().mean().item<double>(), q.Commitment.item<double>(), 1e-12);
        Assert.Null(vq.Embedding.grad);
    }

    [Fact]
    public void CommitmentTrainsTheEncoderOnlyWhileTheReconstructionPathReachesBoth()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var encoder = nn.Conv2d(3, 4, 1);
        var decoder = nn.Conv2d(4, 3, 1);
        using var vq = Quantizer(6, 4);
        var x = torch.randn([2, 3, 3, 3], generator: g);

        var q1 = vq.Quantize(encoder.forward(x));
        _ = decoder.forward(q1.StraightThrough);
        q1.Commitment.backward();

        foreach (var (name, p) in encoder.named_parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"encoder {name} must get a gradient from the commitment loss");
        }
        foreach (var (name, p) in decoder.named_parameters())
            Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0, $"decoder {name} must get no gradient from the commitment loss");
        Assert.Null(vq.Embedding.grad);

        // The check can see a gradient: the reconstruction path reaches the decoder (and, straight through, the encoder).
        encoder.zero_grad();
        var q2 = vq.Quantize(encoder.forward(x));
        decoder.forward(q2.StraightThrough).square().sum().backward();
        foreach (var (name, p) in decoder.named_parameters())
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"decoder {name} must get a gradient from the reconstruction");
        Assert.True(encoder.weight!.grad!.abs().sum().item<float>() > 0);
        Assert.Null(vq.Embedding.grad);
    }

    [Fact]
    public void EmaUpdateFollowsThePaperFormula()
    {
        using var scope = torch.NewDisposeScope();
        const int k = 4, d = 3;
        const double decay = 0.8, epsilon = 1e-2;
        using var vq = Quantizer(k, d, decay, epsilon, threshold: 0);
        float[] size0 = [2.0f, 0.5f, 1.0f, 3.0f];
        float[] sum0 = [1, 2, 3, -1, 0, 1, 0.5f, 0.5f, -2, 4, -3, 1];
        Set(vq.ClusterSize, size0);
        Set(vq.EmbedSum, sum0);
        Set(vq.Embedding, [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
        using var g = new Generator(6);
        var z1 = torch.randn([2, d, 2, 3], generator: g);
        var z2 = torch.randn([1, d, 2, 2], generator: g);
        // Code 2 stays unused; the assignments need not be the nearest codes.
        long[] a1 = [0, 1, 0, 3, 3, 0, 1, 1, 0, 3, 0, 0];
        long[] a2 = [3, 0, 1, 0];
        var codes1 = torch.tensor(a1).reshape(2, 2, 3);
        var codes2 = torch.tensor(a2).reshape(1, 2, 2);

        vq.Accumulate(z1, codes1);
        vq.Accumulate(z2, codes2);
        var counts = vq.ApplyUpdate(vq.TakeStatistics(0, 1), 1, 42);

        var vectors = Vectors(z1).Concat(Vectors(z2)).ToArray();
        var assigned = a1.Concat(a2).ToArray();
        var n = new double[k];
        var sums = new double[k, d];
        for (var i = 0; i < vectors.Length; i++)
        {
            n[assigned[i]] += 1;
            for (var j = 0; j < d; j++) sums[assigned[i], j] += vectors[i][j];
        }
        var size = new double[k];
        var embedSum = new double[k, d];
        for (var i = 0; i < k; i++)
        {
            size[i] = decay * size0[i] + (1 - decay) * n[i];
            for (var j = 0; j < d; j++) embedSum[i, j] = decay * sum0[i * d + j] + (1 - decay) * sums[i, j];
        }
        var total = size.Sum();
        Assert.Equal(n, counts.to(ScalarType.Float64).data<double>().ToArray());
        var gotSize = vq.ClusterSize.to(ScalarType.Float64).data<double>().ToArray();
        var gotSum = Matrix(vq.EmbedSum);
        var gotEmbedding = Matrix(vq.Embedding);
        for (var i = 0; i < k; i++)
        {
            Assert.Equal(size[i], gotSize[i], 1e-5);
            var smoothed = (size[i] + epsilon) / (total + k * epsilon) * total;
            for (var j = 0; j < d; j++)
            {
                Assert.Equal(embedSum[i, j], gotSum[i][j], 1e-5);
                Assert.Equal(embedSum[i, j] / smoothed, gotEmbedding[i][j], 1e-4);
            }
        }
        Assert.Equal(0, vq.LastRestarts);
        Assert.Throws<InvalidOperationException>(() => vq.TakeStatistics(0, 1));
    }

    /// <summary>A batch of 16 distinct vectors assigned to codes 0–2 only (codes 3–5 stay unused).</summary>
    private static (Tensor Z, Tensor Codes) UnusedCodesBatch()
    {
        var z = torch.arange(32, dtype: ScalarType.Float32).mul(0.37).sin().mul(3).reshape(1, 2, 4, 4);
        var codes = torch.arange(16, dtype: ScalarType.Int64).remainder(3).reshape(1, 4, 4);
        return (z, codes);
    }

    [Fact]
    public void DeadCodesRestartOnEncoderVectorsAndUsedCodesDoNot()
    {
        using var scope = torch.NewDisposeScope();
        const int k = 6, d = 2;
        const double decay = 0.5, epsilon = 1e-5, threshold = 0.5;
        using var vq = Quantizer(k, d, decay, epsilon, threshold);
        var (z, codes) = UnusedCodesBatch();

        vq.Accumulate(z, codes);
        var statistics = vq.TakeStatistics(0, 1);
        var candidates = Matrix(statistics.narrow(0, k + k * d, VectorQuantizer.CandidatesPerRank * d).reshape(-1, d));
        var sizeBefore = vq.ClusterSize.clone();
        var sumBefore = vq.EmbedSum.clone();
        vq.ApplyUpdate(statistics, 1, 7);

        var vectors = Vectors(z);
        // Candidates are encoder vectors of the batch.
        Assert.All(candidates, c => Assert.Contains(vectors, v => v.SequenceEqual(c)));
        Assert.Equal(3, vq.LastRestarts);
        var embedding = Matrix(vq.Embedding);
        var size = vq.ClusterSize.data<float>().ToArray();
        var embedSum = Matrix(vq.EmbedSum);
        for (var i = 3; i < k; i++)
        {
            Assert.Contains(candidates, c => c.SequenceEqual(embedding[i]));
            Assert.Equal((float)threshold, size[i]);
            Assert.Equal(embedding[i].Select(v => v * threshold).ToArray(), embedSum[i]);
        }
        // Used codes keep the EMA update.
        var n = new double[k];
        for (var i = 0; i < 16; i++) n[i % 3] += 1;
        var expectedSize = Enumerable.Range(0, k).Select(i => decay * sizeBefore[i].item<float>() + (1 - decay) * n[i]).ToArray();
        var total = expectedSize.Sum();
        var before = Matrix(sumBefore);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(expectedSize[i], size[i], 1e-5);
            var smoothed = (expectedSize[i] + epsilon) / (total + k * epsilon) * total;
            for (var j = 0; j < d; j++)
            {
                var sum = Enumerable.Range(0, 16).Where(r => r % 3 == i).Sum(r => vectors[r][j]);
                Assert.Equal((decay * before[i][j] + (1 - decay) * sum) / smoothed, embedding[i][j], 1e-4);
            }
            Assert.DoesNotContain(candidates, c => c.SequenceEqual(embedding[i]));
        }
    }

    [Fact]
    public void RestartsAreDeterministicGivenTheStatisticsAndSeed()
    {
        using var scope = torch.NewDisposeScope();
        using var a = Quantizer(6, 2, 0.5, 1e-5, 0.5, seed: 9);
        using var b = Quantizer(6, 2, 0.5, 1e-5, 0.5, seed: 9);
        using var c = Quantizer(6, 2, 0.5, 1e-5, 0.5, seed: 9);
        var (z, codes) = UnusedCodesBatch();
        a.Accumulate(z, codes);
        var statistics = a.TakeStatistics(0, 1);

        a.ApplyUpdate(statistics.clone(), 1, 123);
        b.ApplyUpdate(statistics.clone(), 1, 123);
        c.ApplyUpdate(statistics.clone(), 1, 124);

        Assert.True(Same(a.Embedding, b.Embedding));
        Assert.True(Same(a.EmbedSum, b.EmbedSum));
        Assert.True(Same(a.ClusterSize, b.ClusterSize));
        // The seed matters: another one picks other candidates for the dead codes (the live ones agree).
        Assert.True(Same(a.Embedding.narrow(0, 0, 3), c.Embedding.narrow(0, 0, 3)));
        Assert.False(Same(a.Embedding.narrow(0, 3, 3), c.Embedding.narrow(0, 3, 3)));
    }

    [Fact]
    public void TakeStatisticsPutsCandidatesInTheRanksSlots()
    {
        using var scope = torch.NewDisposeScope();
        const int k = 4, d = 2;
        using var vq = Quantizer(k, d);
        var (z, codes) = UnusedCodesBatch();
        vq.Accumulate(z, codes.remainder(k));

        var statistics = vq.TakeStatistics(1, 2);

        Assert.Equal(vq.StatisticsLength(2), statistics.numel());
        Assert.Equal(ScalarType.Float32, statistics.dtype);
        var slots = statistics.narrow(0, k + k * d, 2L * VectorQuantizer.CandidatesPerRank * d).reshape(2, VectorQuantizer.CandidatesPerRank, d);
        Assert.True(slots[0].eq(0).all().item<bool>(), "rank 0's slots must be zero");
        var vectors = Vectors(z);
        var rank1 = Matrix(slots[1]);
        for (var i = 0; i < VectorQuantizer.CandidatesPerRank; i++)
            Assert.Equal(vectors[i * vectors.Length / VectorQuantizer.CandidatesPerRank], rank1[i]);
    }

    [Fact]
    public void SummedRanksUpdateLikeOneRankOnTheWholeBatch()
    {
        using var scope = torch.NewDisposeScope();
        const int k = 5, d = 3;
        using var rank0 = Quantizer(k, d, 0.7, 1e-3, 0, seed: 4);
        using var rank1 = Quantizer(k, d, 0.7, 1e-3, 0, seed: 4);
        using var single = Quantizer(k, d, 0.7, 1e-3, 0, seed: 4);
        using var g = new Generator(8);
        var za = torch.randn([2, d, 3, 3], generator: g);
        var zb = torch.randn([2, d, 3, 3], generator: g);
        var codesA = single.Encode(za);
        var codesB = torch.randint(0, k, [2, 3, 3], generator: g, dtype: ScalarType.Int64);

        rank0.Accumulate(za, codesA);
        rank1.Accumulate(zb, codesB);
        var summed = rank0.TakeStatistics(0, 2) + rank1.TakeStatistics(1, 2);
        var counts0 = rank0.ApplyUpdate(summed.clone(), 2, 11);
        rank1.ApplyUpdate(summed.clone(), 2, 11);
        single.Accumulate(torch.cat([za, zb]), torch.cat([codesA, codesB]));
        var countsSingle = single.ApplyUpdate(single.TakeStatistics(0, 1), 1, 11);

        Assert.True(Same(counts0, countsSingle));
        Assert.Equal(36f, counts0.sum().item<float>());
        Assert.True(rank0.ClusterSize.allclose(single.ClusterSize, rtol: 1e-6, atol: 1e-6));
        Assert.True(rank0.EmbedSum.allclose(single.EmbedSum, rtol: 1e-5, atol: 1e-5));
        Assert.True(rank0.Embedding.allclose(single.Embedding, rtol: 1e-5, atol: 1e-5));
        Assert.True(Same(rank0.Embedding, rank1.Embedding) && Same(rank0.EmbedSum, rank1.EmbedSum) && Same(rank0.ClusterSize, rank1.ClusterSize));
    }

    [Fact]
    public void ApplyUpdateRejectsAWrongLengthVector()
    {
        using var scope = torch.NewDisposeScope();
        using var vq = Quantizer(4, 3);
        var expected = 4 + 4 * 3 + VectorQuantizer.CandidatesPerRank * 3;
        Assert.Equal(expected, vq.StatisticsLength(1));
        var before = vq.Embedding.clone();

        var error = Assert.Throws<ArgumentException>(() => vq.ApplyUpdate(torch.zeros(expected - 1), 1, 0));
        Assert.Equal("statistics", error.ParamName);
        Assert.Contains($"expected {expected}", error.Message);
        // A vector for the wrong world size is rejected too.
        var wrongWorld = Assert.Throws<ArgumentException>(() => vq.ApplyUpdate(torch.zeros(expected), 2, 0));
        Assert.Contains($"expected {vq.StatisticsLength(2)}", wrongWorld.Message);
        Assert.True(Same(vq.Embedding, before), "a rejected update must not touch the codebook");
    }
}
