using System.Security.Cryptography;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace GenCluster.Silo.Storage;

/// <summary>
/// Grain state as one file per grain under a directory. Writes go to a temporary file that is flushed to disk and
/// then renamed over the old one, so a crash (even SIGKILL) leaves either the old or the new state, never a torn one.
/// The ETag is the SHA-256 of the file's bytes; a write whose ETag does not match the file on disk is refused.
/// </summary>
public sealed class FileGrainStorage(string directory, IGrainStorageSerializer serializer, IActivatorProvider activators) : IGrainStorage
{
    /// <summary>The root directory of this storage.</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathFor(stateName, grainId);
        if (!File.Exists(path))
        {
            grainState.State = activators.GetActivator<T>().Create();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }
        var bytes = await File.ReadAllBytesAsync(path);
        try
        {
            grainState.State = serializer.Deserialize<T>(new BinaryData(bytes));
        }
        catch (Exception e)
        {
            throw new IOException($"grain state file {path} ({bytes.Length} bytes) cannot be read as {typeof(T).Name}: {e.Message}", e);
        }
        grainState.ETag = ETagOf(bytes);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathFor(stateName, grainId);
        CheckETag(path, grainState.ETag);
        var bytes = serializer.Serialize(grainState.State).ToArray();
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
        {
            await file.WriteAsync(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        grainState.ETag = ETagOf(bytes);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathFor(stateName, grainId);
        CheckETag(path, grainState.ETag);
        File.Delete(path);
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = activators.GetActivator<T>().Create();
        return Task.CompletedTask;
    }

    /// <summary>The file holding <paramref name="stateName"/> of <paramref name="grainId"/>.</summary>
    public string PathFor(string stateName, GrainId grainId) =>
        Path.Combine(Directory, Safe(stateName), Safe(grainId.Type.ToString()!), Safe(grainId.Key.ToString()!) + ".state");

    private static void CheckETag(string path, string? expected)
    {
        var actual = File.Exists(path) ? ETagOf(File.ReadAllBytes(path)) : null;
        if (!string.Equals(actual, expected, StringComparison.Ordinal))
        {
            throw new InconsistentStateException(
                $"grain state file {path}: expected ETag {expected ?? "(none: new record)"}, found {actual ?? "(no file)"}",
                actual ?? "", expected ?? "");
        }
    }

    private static string ETagOf(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..32];

    private static string Safe(string name) => Uri.EscapeDataString(name).Replace("%", "_", StringComparison.Ordinal);
}
