using GenCluster.Trainer.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Recipes;

/// <summary>How the state of a network that gradients do not synchronise (its buffers) is kept equal across ranks.</summary>
/// <remarks>
/// Parameters never need a policy: identical averaged gradients and identical optimiser states keep them equal, and the
/// round start takes rank 0's. The cadence broadcasts every network's parameters and buffers from rank 0 at round start
/// whatever its policy.
/// </remarks>
public enum BufferPolicy
{
    /// <summary>Each rank updates them from its own batches (BatchNorm running statistics); rank 0's are broadcast before every checkpoint and sample (DDP's default).</summary>
    BroadcastFromRank0,
    /// <summary>Computed only from synchronised state (spectral-norm <c>u</c> from identical weights, historical averages, EMA weights), so they stay identical.</summary>
    IdenticalByConstruction,
    /// <summary>Statistics SUM-all-reduced over the round before the update that uses them (VQ-VAE codebook counts and sums).</summary>
    AllReducedBeforeUpdate,
    /// <summary>Recomputed from the synchronised parameters before use (BigGAN's standing statistics).</summary>
    Recomputed,
}

/// <summary>A network a recipe trains or keeps; <see cref="Name"/> is its checkpoint file stem and fingerprint label.</summary>
/// <param name="Name">Stable name, e.g. <c>generator</c>, <c>discriminator</c>, <c>generator_ema</c>.</param>
/// <param name="Module">The module (already on the training device).</param>
/// <param name="Buffers">How its buffers stay equal across ranks.</param>
public sealed record RecipeNetwork(string Name, nn.Module Module, BufferPolicy Buffers);

/// <summary>
/// An optimiser a recipe steps; its state is checkpointed whole as <c>optimizer-&lt;name&gt;.bin</c>, in TorchSharp's
/// format, whether every rank holds it (<see cref="ReplicatedOptimizerState"/>) or each a shard (<see cref="ShardedAdam"/>).
/// </summary>
public sealed record RecipeOptimizer(string Name, IOptimizerState State)
{
    /// <summary>A TorchSharp optimiser every rank holds whole.</summary>
    public RecipeOptimizer(string name, OptimizerHelper optimizer) : this(name, new ReplicatedOptimizerState(optimizer))
    {
    }

    /// <summary>The TorchSharp optimiser, where every rank holds one (null for sharded state).</summary>
    public OptimizerHelper? Optimizer => (State as ReplicatedOptimizerState)?.Optimizer;
}

/// <summary>What <see cref="ITrainingRecipe.Sample"/> should draw.</summary>
/// <param name="Count">Images.</param>
/// <param name="ClassLabel">For conditional models: draw only this class; null = labels spread evenly over the classes.</param>
/// <param name="Ema">Use the EMA copy of the generator when the recipe keeps one.</param>
/// <param name="Seed">Random seed for the latents (and labels).</param>
/// <param name="Truncation">Truncation threshold for the latents (0 = none): |z| above it is resampled.</param>
/// <param name="Labels">Conditional models: the class of each image (overrides <paramref name="ClassLabel"/>).</param>
/// <param name="Temperature">Autoregressive priors: softmax temperature (null = the model's own option).</param>
/// <param name="BottomTemperature">VQ-VAE-2: the bottom prior's temperature (null = <paramref name="Temperature"/> when given, else the model's own option).</param>
public sealed record SampleRequest(int Count, int? ClassLabel = null, bool Ema = false, long Seed = 0, double Truncation = 0, long[]? Labels = null,
    double? Temperature = null, double? BottomTemperature = null);

/// <summary>Generated images in [−1, 1], [N, C, H, W] on the CPU, and their class labels [N] (int64) for conditional models.</summary>
public sealed record SampleBatch(Tensor Images, Tensor? Labels) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
    }
}

/// <summary>
/// A model family's training: its networks and optimisers, one optimisation step (which may take several optimiser
/// steps, accumulate micro-batches, penalise, clip and update EMA copies), its metrics and its sampling. The cadence
/// (<see cref="TrainingSession"/>) owns everything else: round start, checkpoints, samples, stop and NaN agreement,
/// the journal. A recipe never calls the collectives itself; it goes through the <see cref="StepContext"/>.
/// </summary>
public interface ITrainingRecipe : IDisposable
{
    /// <summary>The model kind (<c>ModelOptions.Kind</c>), written into checkpoint manifests.</summary>
    string Kind { get; }

    /// <summary>Networks in a fixed order: fingerprinted and taken from rank 0 at round start, saved in checkpoints.</summary>
    IReadOnlyList<RecipeNetwork> Networks { get; }

    /// <summary>Optimisers in a fixed order, saved in checkpoints.</summary>
    IReadOnlyList<RecipeOptimizer> Optimizers { get; }

    /// <summary>Names of the metrics every step reports (journal columns, heartbeat keys), e.g. <c>loss_d</c>, <c>loss_g</c>.</summary>
    IReadOnlyList<string> MetricNames { get; }

    /// <summary>Classes the model is conditioned on (0 = unconditional): sample grids then show one row per class.</summary>
    int Classes { get; }

    /// <summary>Whether the recipe keeps an EMA copy of its generator (<see cref="SampleRequest.Ema"/>).</summary>
    bool HasEma { get; }

    /// <summary>Gradient bytes all-reduced by one step.</summary>
    long GradientBytesPerStep { get; }

    /// <summary>
    /// Gradient buckets all-reduced during backward so far (<see cref="Training.BackwardOverlap"/>), and averages redone
    /// because one of them was stale; zeros for a recipe that does not overlap.
    /// </summary>
    (long EarlyLaunches, long Redos) OverlapCounts => (0, 0);

    /// <summary>
    /// Recomputes the buffers of <see cref="BufferPolicy.Recomputed"/> networks from the current parameters (standing
    /// statistics). The cadence calls it on every rank before a sample grid and a checkpoint, so every rank holds the
    /// same buffers as rank 0, the one that samples and saves.
    /// </summary>
    void RecomputeBuffers();

    /// <summary>Runs one training step (the step counter is the number of generator updates, or of model updates for single-network families).</summary>
    void Step(StepContext context);

    /// <summary>Draws images from the model (eval mode, no gradients). Call on one thread; leaves the networks in training mode.</summary>
    /// <exception cref="InvalidOperationException">The model cannot draw samples (<see cref="CanSample"/> is false); the message says why.</exception>
    SampleBatch Sample(SampleRequest request);

    /// <summary>Whether <see cref="Sample"/> can draw now (false for an autoencoder without a trained prior).</summary>
    bool CanSample => true;
}

/// <summary>An autoencoder recipe: it reconstructs images, and reports what its code maps use.</summary>
public interface IReconstructingRecipe
{
    /// <summary>Reconstructions [N, C, H, W] in [−1, 1] of images in [−1, 1] (eval mode, no gradients; on the CPU).</summary>
    Tensor Reconstruct(Tensor images);

    /// <summary>The code index of every position of every level (top first), for codebook usage; empty for continuous latents.</summary>
    IReadOnlyList<(string Level, int CodebookSize, Tensor Codes)> Codes(Tensor images);
}

/// <summary>An autoencoder with an evidence lower bound (the VAE), measured on held-out images.</summary>
public interface IElboRecipe
{
    /// <summary>
    /// Per image [N], in nats (eval mode, no gradients; on the CPU): the negative ELBO −log p(x|z) + KL(q(z|x) ‖ p(z)) of
    /// images in [−1, 1], one z ~ q(z|x) per image drawn with <paramref name="noise"/>, the KL in closed form.
    /// </summary>
    Tensor NegativeElboPerImage(Tensor images, Generator noise);
}
