using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace GenCluster.Trainer.Training;

/// <summary>
/// One random generator per kind of per-image randomness (latents, fake labels, interpolation weights, ...), each
/// seeded from the job seed and its name, identical on every rank and saved in checkpoints.
/// </summary>
/// <remarks>
/// Separate streams keep each draw sequence in global image order whatever the micro-batching: with a single stream,
/// "latents then ε" per micro-batch would interleave differently for 1 × 12 and 2 × 3 × 2 images, and the geometries
/// would stop computing the same update.
/// </remarks>
public sealed class NoiseStreams : IDisposable
{
    /// <summary>The latent stream; its generator is seeded with the job seed itself.</summary>
    public const string Latents = "latents";

    private readonly long _seed;
    private readonly SortedDictionary<string, Generator> _streams = new(StringComparer.Ordinal);

    /// <summary>Streams for a job seeded with <paramref name="seed"/>.</summary>
    public NoiseStreams(long seed) => _seed = seed;

    /// <summary>The generator of <paramref name="name"/>, created at its seed on first use.</summary>
    public Generator Get(string name)
    {
        if (!_streams.TryGetValue(name, out var generator))
            _streams[name] = generator = new Generator((ulong)SeedOf(name));
        return generator;
    }

    /// <summary>Each stream used so far and its state (torch generator state bytes).</summary>
    public IReadOnlyDictionary<string, byte[]> States()
    {
        var states = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, generator) in _streams)
        {
            using var state = generator.get_state();
            states[name] = state.bytes.ToArray();
        }
        return states;
    }

    /// <summary>Restores one stream's state.</summary>
    public void Restore(string name, byte[] state)
    {
        using var tensor = torch.tensor(state, ScalarType.Byte);
        Get(name).set_state(tensor);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var generator in _streams.Values) generator.Dispose();
        _streams.Clear();
    }

    private long SeedOf(string name)
    {
        if (name == Latents) return _seed;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(name));
        return _seed ^ (BitConverter.ToInt64(hash, 0) & long.MaxValue);
    }
}
