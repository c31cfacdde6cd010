using System.Security.Cryptography;
using GenCluster.Contracts.Security;
using GenCluster.Silo.Security;

namespace GenCluster.Silo.Local;

/// <summary>
/// The short-lived credentials of a cluster started on this machine: a random admin token for the launcher's own
/// client and a random read token for Prometheus, in a token file only the owner may read (0600) that the silo gets
/// as <c>--token-file</c>; and a new CA with a silo and a trainer certificate (<see cref="Tls"/>, keys 0600) for the
/// Orleans connections. They live as long as the state directory they are written to.
/// </summary>
public sealed class LocalCredentials
{
    /// <summary>The token file's name in the state directory.</summary>
    public const string FileName = "api-tokens";

    /// <summary>The certificates' directory in the state directory.</summary>
    public const string TlsDirectoryName = "tls";

    /// <summary>How long the local CA and its certificates are valid: longer than any local run, short enough not to matter once it is over.</summary>
    public static readonly TimeSpan TlsLifetime = TimeSpan.FromDays(7);

    private LocalCredentials(string tokenFile, string adminToken, string readToken, DevCertificateSet tls)
    {
        TokenFile = tokenFile;
        AdminToken = adminToken;
        ReadToken = readToken;
        Tls = tls;
    }

    /// <summary>The silo's token file (the admin token first, so <c>--token-file</c> of the CLI verbs picks it).</summary>
    public string TokenFile { get; }

    /// <summary>Token with admin scope, named <c>local</c>.</summary>
    public string AdminToken { get; }

    /// <summary>Token with read scope, named <c>prometheus</c>.</summary>
    public string ReadToken { get; }

    /// <summary>The cluster's CA and the silo's and trainers' certificates (<see cref="DevCertificateSet.Arguments"/> gives their flags).</summary>
    public DevCertificateSet Tls { get; }

    /// <summary>Makes two new tokens and a new CA with its certificates, and writes them into <paramref name="directory"/>.</summary>
    /// <param name="tls">Certificates to use instead of new ones, e.g. those of another silo of the same cluster.</param>
    public static LocalCredentials Create(string directory, DevCertificateSet? tls = null)
    {
        var admin = NewToken();
        var read = NewToken();
        var path = Path.Combine(Path.GetFullPath(directory), FileName);
        PrivateFile.Write(path,
            "# API tokens of a cluster started by gencluster on this machine: token scope name\n" +
            $"{admin} admin local\n{read} read prometheus\n");
        // Like the token file, a CA left in the directory is replaced: nothing outside this cluster uses it.
        tls ??= DevCertificateSet.Write(Path.Combine(Path.GetFullPath(directory), TlsDirectoryName), [], TlsLifetime, DateTimeOffset.UtcNow, force: true);
        return new LocalCredentials(path, admin, read, tls);
    }

    /// <summary>A new random token: 32 bytes from the system's cryptographic generator, as 64 hex digits.</summary>
    public static string NewToken() => RandomNumberGenerator.GetHexString(64, lowercase: true);
}
