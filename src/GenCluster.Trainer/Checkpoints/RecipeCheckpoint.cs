using System.Text;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Recipes;
using GenCluster.Trainer.Training;

namespace GenCluster.Trainer.Checkpoints;

/// <summary>A checkpoint written by another model kind or another network shape than the one loading it.</summary>
public sealed class CheckpointMismatchException(string message) : Exception(message);

/// <summary>
/// The files of a recipe in a checkpoint: <c>&lt;network&gt;.bin</c> for each network and <c>optimizer-&lt;name&gt;.bin</c>
/// for each optimiser. Loading checks the manifest's model kind and every network's layout first, so a checkpoint of
/// another kind or shape is refused with a message naming the file, the key and both shapes, before any tensor changes.
/// </summary>
public static class RecipeCheckpoint
{
    /// <summary>File name of a network's parameters and buffers.</summary>
    public static string NetworkFile(string network) => network + ".bin";

    /// <summary>File name of an optimiser's state.</summary>
    public static string OptimizerFile(string optimizer) => "optimizer-" + optimizer + ".bin";

    /// <summary>
    /// Writers for every file of <paramref name="recipe"/>, by file name. Sharded optimiser state must have been
    /// gathered first (<see cref="GatherOptimizers"/> on every rank).
    /// </summary>
    public static IReadOnlyDictionary<string, Action<Stream>> Writers(ITrainingRecipe recipe)
    {
        var files = new Dictionary<string, Action<Stream>>();
        foreach (var network in recipe.Networks)
            files[NetworkFile(network.Name)] = s => WithWriter(s, w => network.Module.save(w));
        foreach (var optimizer in recipe.Optimizers)
            files[OptimizerFile(optimizer.Name)] = s => WithWriter(s, optimizer.State.Save);
        return files;
    }

    /// <summary>Called on every rank before rank 0 writes a checkpoint: brings sharded optimiser state whole to rank 0.</summary>
    public static void GatherOptimizers(ITrainingRecipe recipe, ICollectives collectives, CancellationToken cancellationToken)
    {
        foreach (var optimizer in recipe.Optimizers) optimizer.State.GatherForCheckpoint(collectives, cancellationToken);
    }

    /// <summary>Loads <paramref name="checkpoint"/> into <paramref name="recipe"/>.</summary>
    /// <exception cref="CheckpointMismatchException">Another model kind, a missing network, or a different layout.</exception>
    public static void Load(ITrainingRecipe recipe, LoadedCheckpoint checkpoint, bool networksOnly = false)
    {
        Verify(recipe, checkpoint);
        foreach (var network in recipe.Networks)
            WithReader(checkpoint.PathOf(NetworkFile(network.Name)), r => network.Module.load(r));
        if (networksOnly) return;
        foreach (var optimizer in recipe.Optimizers)
            WithReader(checkpoint.PathOf(OptimizerFile(optimizer.Name)), optimizer.State.Load);
    }

    /// <summary>Checks kind and layouts without loading anything.</summary>
    /// <exception cref="CheckpointMismatchException">The message names the directory, file, key and shapes.</exception>
    public static void Verify(ITrainingRecipe recipe, LoadedCheckpoint checkpoint)
    {
        var m = checkpoint.Manifest;
        if (m.Format < CheckpointManifest.CurrentFormat)
            throw new CheckpointMismatchException(
                $"{checkpoint.Directory}: checkpoint format {m.Format} predates model kinds (expected {CheckpointManifest.CurrentFormat}); start the job afresh");
        if (m.ModelKind != recipe.Kind)
            throw new CheckpointMismatchException(
                $"{checkpoint.Directory}: checkpoint holds model kind '{m.ModelKind}', this job trains '{recipe.Kind}'");
        foreach (var network in recipe.Networks)
        {
            var file = Path.Combine(checkpoint.Directory, NetworkFile(network.Name));
            if (!m.Layouts.TryGetValue(network.Name, out var saved))
                throw new CheckpointMismatchException($"{file}: the checkpoint has no network '{network.Name}' (it has {string.Join(", ", m.Layouts.Keys)})");
            var current = ModelFingerprint.Describe(network.Module);
            if (saved != current) throw new CheckpointMismatchException($"{file}: {FirstDifference(saved, current)}");
        }
    }

    /// <summary>The first key whose shape or presence differs, e.g. <c>key 'fc1.weight' has shape [16,64] in the checkpoint, [32,64] in this model</c>.</summary>
    public static string FirstDifference(string saved, string current)
    {
        var a = Parse(saved);
        var b = Parse(current);
        foreach (var (key, shape) in a)
        {
            if (!b.TryGetValue(key, out var other)) return $"key '{key}' {shape} is in the checkpoint but not in this model";
            if (other != shape) return $"key '{key}' has {shape} in the checkpoint, {other} in this model";
        }
        foreach (var (key, shape) in b)
        {
            if (!a.ContainsKey(key)) return $"key '{key}' {shape} of this model is not in the checkpoint";
        }
        return "the parameter order differs from the checkpoint's";
    }

    private static Dictionary<string, string> Parse(string layout)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in layout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "param fc1.weight Float32 [16,64]"
            var parts = line.Split(' ', 4);
            if (parts.Length == 4) keys[parts[1]] = $"{parts[2]} shape {parts[3]}";
        }
        return keys;
    }

    private static void WithWriter(Stream stream, Action<BinaryWriter> write)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        write(writer);
        writer.Flush();
    }

    private static void WithReader(string path, Action<BinaryReader> read)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: false);
        read(reader);
    }
}
