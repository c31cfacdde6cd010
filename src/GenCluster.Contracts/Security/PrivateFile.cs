namespace GenCluster.Contracts.Security;

/// <summary>Files only their owner may read: tokens and private keys.</summary>
public static class PrivateFile
{
    /// <summary>Writes <paramref name="text"/> to a new file at <paramref name="path"/> that only its owner may read and write (0600).</summary>
    public static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // A file that exists keeps its mode when opened, so it is replaced rather than overwritten.
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var writer = new StreamWriter(path, options);
        writer.Write(text);
    }
}
