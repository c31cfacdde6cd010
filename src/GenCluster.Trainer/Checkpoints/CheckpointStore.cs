using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using GenCluster.Contracts.Workers;

namespace GenCluster.Trainer.Checkpoints;

/// <summary>A checkpoint directory that failed verification.</summary>
public sealed class CheckpointCorruptException(string directory, string reason)
    : Exception($"{directory}: checkpoint is unusable: {reason}")
{
    /// <summary>The rejected directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; } = reason;
}

/// <summary>A verified checkpoint: its directory and manifest.</summary>
public sealed record LoadedCheckpoint(string Directory, CheckpointManifest Manifest, string ManifestSha256)
{
    /// <summary>Full path of one of its files.</summary>
    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>The reference the control plane keeps for it.</summary>
    public CheckpointRef ToRef() => new(Manifest.Step, Directory, ManifestSha256);
}

/// <summary>
/// Checkpoints as one directory per step (<c>step-000500</c>) under a root directory. A checkpoint is written into a
/// temporary directory, every file flushed to disk, the manifest (with each file's SHA-256) written last, and the
/// directory renamed into place; only then are checkpoints beyond the newest <c>keep</c> deleted, so the last good
/// one is never removed before the new one is durable.
/// </summary>
public sealed class CheckpointStore
{
    private const string ManifestName = "manifest.json";
    private const string Prefix = "step-";
    private readonly TimeProvider _time;

    /// <summary>Creates a store over <paramref name="root"/> keeping the newest <paramref name="keep"/> checkpoints.</summary>
    public CheckpointStore(string root, int keep, TimeProvider? time = null)
    {
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), keep, "JobSpec.KeepCheckpoints must be at least 1");
        Root = root;
        Keep = keep;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The directory holding the step directories.</summary>
    public string Root { get; }

    /// <summary>How many checkpoints are kept.</summary>
    public int Keep { get; }

    /// <summary>Directory name for <paramref name="step"/>.</summary>
    public static string DirectoryName(long step) => Prefix + step.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>Writes a checkpoint for <paramref name="manifest"/>.Step with the given files and returns it once durable.</summary>
    /// <param name="manifest">Everything but <see cref="CheckpointManifest.Files"/> and the timestamp, which are filled in here.</param>
    /// <param name="files">File name → writer of its content.</param>
    public LoadedCheckpoint Save(CheckpointManifest manifest, IReadOnlyDictionary<string, Action<Stream>> files)
    {
        Directory.CreateDirectory(Root);
        var finalDir = Path.Combine(Root, DirectoryName(manifest.Step));
        var tempDir = Path.Combine(Root, $".tmp-{DirectoryName(manifest.Step)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tempDir);
        try
        {
            var hashes = new Dictionary<string, CheckpointFile>();
            foreach (var (name, write) in files)
            {
                if (name == ManifestName || name.Contains('/') || name.Contains('\\'))
                    throw new ArgumentException($"checkpoint file name '{name}' is reserved or not a plain name", nameof(files));
                var path = Path.Combine(tempDir, name);
                using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
                {
                    write(stream);
                    stream.Flush(flushToDisk: true);
                }
                hashes[name] = new CheckpointFile(HashFile(path), new FileInfo(path).Length);
            }
            var complete = manifest with { Files = hashes, CreatedUtc = _time.GetUtcNow() };
            var manifestPath = Path.Combine(tempDir, ManifestName);
            using (var stream = new FileStream(manifestPath, FileMode.CreateNew, FileAccess.Write))
            {
                JsonSerializer.Serialize(stream, complete, CheckpointManifest.Json);
                stream.Flush(flushToDisk: true);
            }
            var manifestSha = HashFile(manifestPath);

            if (Directory.Exists(finalDir))
            {
                // Same step written again (after a rollback): swap, then drop the old copy.
                var displaced = Path.Combine(Root, $".old-{DirectoryName(manifest.Step)}-{Guid.NewGuid():N}");
                Directory.Move(finalDir, displaced);
                Directory.Move(tempDir, finalDir);
                Directory.Delete(displaced, recursive: true);
            }
            else
            {
                Directory.Move(tempDir, finalDir);
            }
            Prune();
            return new LoadedCheckpoint(finalDir, complete, manifestSha);
        }
        finally
        {
            if (Directory.Exists(tempDir)) Directory.Delete(tempDir, recursive: true);
        }
    }

    /// <summary>The newest checkpoint that verifies, or null; <paramref name="rejected"/> lists newer ones that did not, with reasons.</summary>
    public LoadedCheckpoint? LoadLatestGood(out IReadOnlyList<CheckpointCorruptException> rejected)
    {
        var bad = new List<CheckpointCorruptException>();
        rejected = bad;
        foreach (var dir in StepDirectories())
        {
            try
            {
                return Load(dir);
            }
            catch (CheckpointCorruptException ex)
            {
                bad.Add(ex);
            }
        }
        return null;
    }

    /// <summary>Reads and verifies the checkpoint in <paramref name="directory"/>.</summary>
    /// <exception cref="CheckpointCorruptException">Missing or unreadable manifest, or a file missing, of the wrong size, or with the wrong SHA-256.</exception>
    public static LoadedCheckpoint Load(string directory)
    {
        var manifestPath = Path.Combine(directory, ManifestName);
        if (!File.Exists(manifestPath))
            throw new CheckpointCorruptException(directory, $"{ManifestName} is missing");
        CheckpointManifest manifest;
        try
        {
            using var stream = File.OpenRead(manifestPath);
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(stream, CheckpointManifest.Json)
                ?? throw new JsonException("manifest is null");
        }
        catch (JsonException ex)
        {
            throw new CheckpointCorruptException(directory, $"{ManifestName} is not valid: {ex.Message}");
        }
        foreach (var (name, expected) in manifest.Files)
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path))
                throw new CheckpointCorruptException(directory, $"{name} is missing");
            var length = new FileInfo(path).Length;
            if (length != expected.Bytes)
                throw new CheckpointCorruptException(directory, $"{name} has {length} bytes, expected {expected.Bytes} (truncated or overwritten)");
            var actual = HashFile(path);
            if (actual != expected.Sha256)
                throw new CheckpointCorruptException(directory, $"{name} SHA-256 is {actual}, expected {expected.Sha256}");
        }
        return new LoadedCheckpoint(directory, manifest, HashFile(manifestPath));
    }

    /// <summary>Loads the checkpoint a control-plane reference names and checks its manifest hash.</summary>
    public static LoadedCheckpoint Load(CheckpointRef reference)
    {
        var loaded = Load(reference.Path);
        if (!string.IsNullOrEmpty(reference.ManifestSha256) && loaded.ManifestSha256 != reference.ManifestSha256)
            throw new CheckpointCorruptException(reference.Path,
                $"{ManifestName} SHA-256 is {loaded.ManifestSha256}, expected {reference.ManifestSha256} from the job's record");
        return loaded;
    }

    /// <summary>Step directories, newest first.</summary>
    public IReadOnlyList<string> StepDirectories()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.GetDirectories(Root, Prefix + "*")
            .Select(d => (Dir: d, Step: ParseStep(Path.GetFileName(d))))
            .Where(x => x.Step >= 0)
            .OrderByDescending(x => x.Step)
            .Select(x => x.Dir)
            .ToList();
    }

    /// <summary>
    /// Keeps a copy of <paramref name="checkpoint"/> as <c>&lt;root&gt;/&lt;label&gt;</c> (e.g. the last checkpoint of a
    /// training stage), out of the reach of pruning; replaced if it exists. Returns its directory.
    /// </summary>
    public string Preserve(CheckpointRef checkpoint, string label)
    {
        if (label.StartsWith(Prefix, StringComparison.Ordinal) || label.StartsWith('.') || label.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"'{label}' cannot name a preserved checkpoint (it must not start with '{Prefix}' or '.')", nameof(label));
        var target = Path.Combine(Root, label);
        var temp = Path.Combine(Root, ".tmp-" + label);
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        foreach (var file in Directory.GetFiles(checkpoint.Path))
            File.Copy(file, Path.Combine(temp, Path.GetFileName(file)));
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        Directory.Move(temp, target);
        return target;
    }

    private void Prune()
    {
        foreach (var old in StepDirectories().Skip(Keep))
            Directory.Delete(old, recursive: true);
        foreach (var stale in Directory.GetDirectories(Root, ".tmp-*").Concat(Directory.GetDirectories(Root, ".old-*")))
        {
            // Left behind by a writer that died mid-checkpoint; never a checkpoint anyone can load.
            try { Directory.Delete(stale, recursive: true); } catch (IOException) { }
        }
    }

    private static long ParseStep(string name) =>
        long.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : -1;

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
