using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GenCluster.Trainer.Layers;

/// <summary>What <see cref="VectorQuantizer.Quantize"/> returns.</summary>
/// <param name="StraightThrough">z_e + sg(e_k − z_e) [N, D, H, W]: the codes forward, the identity backward (straight-through estimator).</param>
/// <param name="Codes">Nearest code per position [N, H, W] (int64).</param>
/// <param name="Commitment">‖z_e − sg(e_k)‖² averaged over elements: its gradient reaches only the encoder.</param>
public sealed record QuantizedOutput(Tensor StraightThrough, Tensor Codes, Tensor Commitment);

/// <summary>
/// The vector quantiser of VQ-VAE (van den Oord et al. 2017) with exponential-moving-average codebook updates
/// (appendix A.1): each encoder output z_e is replaced by its nearest code e_k; gradients pass straight through to the
/// encoder; the codebook is not trained by gradients but moved to the running mean of the vectors assigned to it:
/// N_i ← γN_i + (1−γ)n_i, m_i ← γm_i + (1−γ)Σ_j z_{i,j}, e_i = m_i / N̂_i with the Laplace-smoothed count
/// N̂_i = (N_i + ε) / (n + Kε) · n, n = Σ_i N_i. Codes whose count falls below a threshold are restarted on encoder
/// outputs (dead-code restart, as in Jukebox, Dhariwal et al. 2020).
/// </summary>
/// <remarks>
/// <para>Data parallelism: the step's per-code counts and sums are accumulated locally over micro-batches
/// (<see cref="Accumulate"/>), packed into one float32 vector (<see cref="TakeStatistics"/>), SUM-all-reduced over the
/// round by the caller, and applied (<see cref="ApplyUpdate"/>) — so every rank makes the same update from the whole
/// round's batch and holds the identical codebook after every step. Restart candidates travel in the same vector, each
/// rank in its own slots, so the sum is also their all-gather, and every rank picks the same ones.</para>
/// <para>Buffers (<c>embedding</c>, <c>cluster_size</c>, <c>embed_sum</c>) are checkpointed and fingerprinted with the model.</para>
/// </remarks>
public sealed class VectorQuantizer : nn.Module
{
    /// <summary>Restart candidates each rank contributes per step.</summary>
    public const int CandidatesPerRank = 64;

    private readonly Tensor embedding;
    private readonly Tensor cluster_size;
    private readonly Tensor embed_sum;
    // This step's statistics, kept outside any dispose scope between micro-batches; in a holder, not in Tensor
    // fields, so that module registration never takes them for buffers of the state dict.
    private readonly Pending _step;
    private bool _pending;

    private sealed record Pending(Tensor Counts, Tensor Sums, Tensor Candidates);

    /// <summary>A codebook of <paramref name="codes"/> vectors of <paramref name="dim"/>, drawn from <paramref name="generator"/>.</summary>
    public VectorQuantizer(string name, int codes, int dim, double decay, double epsilon, double deadCodeThreshold, Generator? generator = null)
        : base(name)
    {
        if (codes < 2) throw new ArgumentOutOfRangeException(nameof(codes), codes, "a codebook needs at least 2 codes");
        if (!(decay >= 0 && decay < 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "decay must be in [0, 1)");
        CodebookSize = codes;
        CodeDim = dim;
        Decay = decay;
        Epsilon = epsilon;
        DeadCodeThreshold = deadCodeThreshold;
        embedding = torch.randn([codes, dim], generator: generator);
        cluster_size = torch.zeros(codes);
        embed_sum = embedding.clone();
        register_buffer(nameof(embedding), embedding);
        register_buffer(nameof(cluster_size), cluster_size);
        register_buffer(nameof(embed_sum), embed_sum);
        _step = new Pending(torch.zeros(codes), torch.zeros(codes, dim), torch.zeros(CandidatesPerRank, dim));
    }

    /// <summary>K.</summary>
    public int CodebookSize { get; }

    /// <summary>D.</summary>
    public int CodeDim { get; }

    /// <summary>γ.</summary>
    public double Decay { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>Restart threshold on the moving-average count (0 = never restart).</summary>
    public double DeadCodeThreshold { get; }

    /// <summary>The codebook [K, D].</summary>
    public Tensor Embedding => embedding;

    /// <summary>Moving-average counts N [K].</summary>
    public Tensor ClusterSize => cluster_size;

    /// <summary>Moving-average sums m [K, D].</summary>
    public Tensor EmbedSum => embed_sum;

    /// <summary>Codes restarted by the last <see cref="ApplyUpdate"/>.</summary>
    public int LastRestarts { get; private set; }

    /// <summary>Nearest codes of <paramref name="z"/> [N, D, H, W], the straight-through output and the commitment loss.</summary>
    public QuantizedOutput Quantize(Tensor z)
    {
        var codes = Encode(z);
        var quantized = Lookup(codes);
        var commitment = (z - quantized.detach()).square().mean();
        var straightThrough = z + (quantized - z).detach();
        return new QuantizedOutput(straightThrough, codes, commitment);
    }

    /// <summary>Nearest code per position of <paramref name="z"/> [N, D, H, W] → [N, H, W] (int64), by squared Euclidean distance.</summary>
    public Tensor Encode(Tensor z)
    {
        using var noGrad = torch.no_grad();
        var (n, h, w) = (z.shape[0], z.shape[2], z.shape[3]);
        var flat = Flatten(z.detach());
        var distance = flat.square().sum(1, keepdim: true) - 2 * flat.matmul(embedding.t()) + embedding.square().sum(1).unsqueeze(0);
        return distance.argmin(1).reshape(n, h, w);
    }

    /// <summary>The code vectors of <paramref name="codes"/> [N, H, W] → [N, D, H, W].</summary>
    public Tensor Lookup(Tensor codes) =>
        embedding.index_select(0, codes.reshape(-1)).reshape(codes.shape[0], codes.shape[1], codes.shape[2], CodeDim).permute(0, 3, 1, 2).contiguous();

    /// <summary>Adds the per-code counts and sums of <paramref name="z"/> assigned to <paramref name="codes"/> to this step's statistics (call once per micro-batch).</summary>
    public void Accumulate(Tensor z, Tensor codes)
    {
        using var noGrad = torch.no_grad();
        var flat = Flatten(z.detach()).to(float32).cpu();
        var assigned = codes.reshape(-1).cpu();
        var onehot = functional.one_hot(assigned, CodebookSize).to(float32);
        var counts = onehot.sum(dim: 0);
        var sums = onehot.t().matmul(flat);
        if (!_pending)
        {
            // Candidates for restarts: rows spread evenly over the first micro-batch.
            var rows = flat.shape[0];
            var picks = torch.tensor(Enumerable.Range(0, CandidatesPerRank).Select(i => (long)(i * rows / CandidatesPerRank)).ToArray());
            _step.Candidates.copy_(flat.index_select(0, picks));
            _step.Counts.zero_();
            _step.Sums.zero_();
            _pending = true;
        }
        _step.Counts.add_(counts);
        _step.Sums.add_(sums);
    }

    /// <summary>Length of the statistics vector for a round of <paramref name="worldSize"/> ranks.</summary>
    public long StatisticsLength(int worldSize) => CodebookSize + (long)CodebookSize * CodeDim + (long)worldSize * CandidatesPerRank * CodeDim;

    /// <summary>
    /// This step's statistics as one contiguous float32 CPU vector [counts K | sums K·D | candidates in rank
    /// <paramref name="rank"/>'s slots, zeros elsewhere], ready to be SUM-all-reduced; clears them.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing was accumulated this step.</exception>
    public Tensor TakeStatistics(int rank, int worldSize)
    {
        if (!_pending) throw new InvalidOperationException($"{GetName()}: no statistics accumulated this step");
        var candidates = torch.zeros([worldSize, CandidatesPerRank, CodeDim]);
        candidates[rank].copy_(_step.Candidates);
        var packed = torch.cat([_step.Counts, _step.Sums.reshape(-1), candidates.reshape(-1)]).contiguous();
        _pending = false;
        return packed;
    }

    /// <summary>
    /// The EMA update from the round's summed <paramref name="statistics"/> (<see cref="TakeStatistics"/> after the
    /// all-reduce), then the restart of dead codes on candidates chosen by <paramref name="restartSeed"/> (the same on
    /// every rank). Returns the step's counts n [K].
    /// </summary>
    public Tensor ApplyUpdate(Tensor statistics, int worldSize, long restartSeed)
    {
        using var noGrad = torch.no_grad();
        var k = CodebookSize;
        var d = CodeDim;
        var expected = StatisticsLength(worldSize);
        if (statistics.numel() != expected)
            throw new ArgumentException($"{GetName()}: statistics hold {statistics.numel()} values, expected {expected} for K={k}, D={d}, world size {worldSize}", nameof(statistics));
        var device = embedding.device;
        var counts = statistics.narrow(0, 0, k).to(device);
        var sums = statistics.narrow(0, k, (long)k * d).reshape(k, d).to(device);
        cluster_size.mul_(Decay).add_(counts, alpha: 1 - Decay);
        embed_sum.mul_(Decay).add_(sums, alpha: 1 - Decay);
        var n = cluster_size.sum();
        var smoothed = (cluster_size + Epsilon) / (n + k * Epsilon) * n;
        embedding.copy_(embed_sum / smoothed.unsqueeze(1));
        LastRestarts = 0;
        if (DeadCodeThreshold > 0) Restart(statistics.narrow(0, k + (long)k * d, (long)worldSize * CandidatesPerRank * d).reshape(-1, d).to(device), restartSeed);
        return counts;
    }

    private void Restart(Tensor candidates, long seed)
    {
        var dead = cluster_size.lt(DeadCodeThreshold).nonzero().reshape(-1);
        var count = (int)dead.numel();
        if (count == 0) return;
        using var random = new Generator((ulong)seed);
        var picks = torch.randint(0, candidates.shape[0], [count], generator: random, dtype: ScalarType.Int64).to(candidates.device);
        var chosen = candidates.index_select(0, picks);
        embedding.index_copy_(0, dead, chosen);
        embed_sum.index_copy_(0, dead, chosen * DeadCodeThreshold);
        cluster_size.index_fill_(0, dead, DeadCodeThreshold);
        LastRestarts = count;
    }

    /// <summary>[N, D, H, W] → [N·H·W, D].</summary>
    private Tensor Flatten(Tensor z) => z.permute(0, 2, 3, 1).reshape(-1, CodeDim);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _step.Counts.Dispose();
            _step.Sums.Dispose();
            _step.Candidates.Dispose();
        }
        base.Dispose(disposing);
    }
}
