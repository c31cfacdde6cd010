using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Layers;

/// <summary>
/// Historical averaging (Salimans et al. 2016, "Improved Techniques for Training GANs", §3.3): each player's cost
/// gains the term ‖θ − (1/t)Σ_{i≤t} θ[i]‖², pulling the parameters towards their running mean to damp the
/// oscillations of gradient-descent game dynamics. This module keeps the running mean of every parameter of a
/// tracked network and returns the penalty.
/// </summary>
/// <remarks>
/// Buffers (checkpoint keys): one per tracked parameter, named after it with '.' replaced by '_' (e.g.
/// <c>conv1_weight</c>), holding the mean in the parameter's shape and dtype; and <c>count</c>, the number of updates
/// (int64 scalar). The tracked network itself is not a submodule (its weights are not in this module's state).
/// The caller multiplies the penalty by its weight. Updated after the synchronised step, the means are identical on
/// every rank by construction.
/// </remarks>
public sealed class HistoricalAverage : nn.Module
{
    /// <summary>The tracked network, held in a wrapper so that RegisterComponents does not adopt it as a submodule.</summary>
    private sealed record TrackedNetwork(nn.Module Module);

    private const string CountKey = "count";

    private readonly TrackedNetwork tracked;
    private readonly Tensor count;

    /// <summary>Starts an empty average (count 0, means 0) for every parameter of <paramref name="tracked"/>.</summary>
    /// <param name="tracked">The network whose parameters are averaged; its parameter names must stay distinct after '.' → '_'.</param>
    /// <exception cref="ArgumentException">Two parameter names collide after the replacement, or one is "count".</exception>
    public HistoricalAverage(nn.Module tracked) : base(nameof(HistoricalAverage))
    {
        ArgumentNullException.ThrowIfNull(tracked);
        this.tracked = new TrackedNetwork(tracked);
        count = torch.zeros([], dtype: ScalarType.Int64);
        RegisterComponents();
        var seen = new Dictionary<string, string> { [CountKey] = "(the update count)" };
        foreach (var (name, parameter) in tracked.named_parameters())
        {
            var key = BufferName(name);
            if (!seen.TryAdd(key, name))
                throw new ArgumentException($"Parameter '{name}' maps to buffer '{key}', already taken by {seen[key]}.", nameof(tracked));
            register_buffer(key, torch.zeros_like(parameter).DetachFromDisposeScope());
        }
    }

    /// <summary>The buffer name for a tracked parameter name: '.' replaced by '_'.</summary>
    public static string BufferName(string parameterName) => parameterName.Replace('.', '_');

    /// <summary>Number of <see cref="Update"/> calls so far (t).</summary>
    public long Count => count.item<long>();

    /// <summary>Adds the tracked network's current parameters θ_t to the means: mean_t = mean_{t−1} + (θ_t − mean_{t−1})/t.</summary>
    public void Update()
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        count.add_(1);
        var t = (double)count.item<long>();
        foreach (var (mean, parameter) in Pairs())
            mean.add_(parameter.detach().sub(mean), alpha: 1.0 / t);
    }

    /// <summary>
    /// Σ over parameters of ‖θ − mean‖² (squared L2 norm, summed over every element), a scalar with gradient
    /// 2(θ − mean) with respect to the current parameters. Before the first update it is a zero scalar in the parameters' dtype (no average yet).
    /// </summary>
    public Tensor Penalty()
    {
        using var scope = torch.NewDisposeScope();
        var pairs = Pairs().ToList();
        var total = pairs.Count == 0
            ? torch.zeros([])
            : torch.zeros([], dtype: pairs[0].Parameter.dtype, device: pairs[0].Parameter.device);
        if (Count > 0)
            foreach (var (mean, parameter) in pairs)
                total = total.add(parameter.sub(mean).square().sum());
        return scope.MoveToOuter(total);
    }

    /// <summary>Each tracked parameter with its mean buffer, looked up by name every time (Module.to() replaces both).</summary>
    private IEnumerable<(Tensor Mean, Tensor Parameter)> Pairs()
    {
        var buffers = named_buffers(recurse: false).ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, parameter) in tracked.Module.named_parameters())
        {
            if (!buffers.TryGetValue(BufferName(name), out var mean) || !mean.shape.SequenceEqual(parameter.shape))
                throw new InvalidOperationException($"Tracked parameter '{name}' [{string.Join(", ", parameter.shape)}] has no matching mean buffer; the tracked network changed after construction.");
            yield return (mean, parameter);
        }
    }
}
