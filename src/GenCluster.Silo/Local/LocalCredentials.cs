using System.Security.Cryptography;

namespace GenCluster.Silo.Local;

/// <summary>
/// The short-lived API credentials of a cluster started on this machine: a random admin token for the launcher's own
/// client and a random read token for Prometheus, in a token file only the owner may read (0600) that the silo gets
/// as <c>--token-file</c>. They live as long as the state directory they are written to.
/// </summary>
public sealed class LocalCredentials
{
    /// <summary>The token file's name in the state directory.</summary>
    public const string FileName = "api-tokens";

    private LocalCredentials(string tokenFile, string adminToken, string readToken)
    {
        TokenFile = tokenFile;
        AdminToken = adminToken;
        ReadToken = readToken;
    }

    /// <summary>The silo's token file (the admin token first, so <c>--token-file</c> of the CLI verbs picks it).</summary>
    public string TokenFile { get; }

    /// <summary>Token with admin scope, named <c>local</c>.</summary>
    public string AdminToken { get; }

    /// <summary>Token with read scope, named <c>prometheus</c>.</summary>
    public string ReadToken { get; }

    /// <summary>Makes two new tokens and writes the token file into <paramref name="directory"/>.</summary>
    public static LocalCredentials Create(string directory)
    {
        var admin = NewToken();
        var read = NewToken();
        var path = Path.Combine(Path.GetFullPath(directory), FileName);
        WritePrivate(path,
            "# API tokens of a cluster started by gencluster on this machine: token scope name\n" +
            $"{admin} admin local\n{read} read prometheus\n");
        return new LocalCredentials(path, admin, read);
    }

    /// <summary>A new random token: 32 bytes from the system's cryptographic generator, as 64 hex digits.</summary>
    public static string NewToken() => RandomNumberGenerator.GetHexString(64, lowercase: true);

    /// <summary>Writes <paramref name="text"/> to a new file at <paramref name="path"/> that only its owner may read and write.</summary>
    public static void WritePrivate(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // A file that exists keeps its mode when opened, so it is replaced rather than overwritten.
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var writer = new StreamWriter(path, options);
        writer.Write(text);
    }
}
