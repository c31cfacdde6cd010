using System.Security.Cryptography;
using System.Text;

namespace GenCluster.Silo.Auth;

/// <summary>Who a token belongs to and what it may do.</summary>
/// <param name="Name">The token's name (never the token).</param>
/// <param name="Scope">What it may do.</param>
public sealed record ApiIdentity(string Name, ApiScope Scope);

/// <summary>
/// The tokens a silo accepts. Only their SHA-256 hashes are kept; a presented token is hashed and compared with
/// every entry in constant time, so neither the comparison nor the number of entries tried reveals how much of it matched.
/// </summary>
public sealed class ApiTokenSet
{
    private readonly (byte[] Hash, ApiIdentity Identity)[] _entries;

    private ApiTokenSet((byte[] Hash, ApiIdentity Identity)[] entries) => _entries = entries;

    /// <summary>No tokens (the API runs with <c>--no-auth</c>).</summary>
    public static ApiTokenSet Empty { get; } = new([]);

    /// <summary>How many of them have <paramref name="scope"/>.</summary>
    public int CountOf(ApiScope scope) => _entries.Count(e => e.Identity.Scope == scope);

    /// <summary>The set of <paramref name="entries"/>.</summary>
    /// <exception cref="ApiTokenFileException">A token is defined twice (the message names both places).</exception>
    public static ApiTokenSet From(IReadOnlyList<ApiTokenEntry> entries)
    {
        var duplicates = ApiTokenFile.DuplicateErrors(entries).ToList();
        if (duplicates.Count > 0) throw new ApiTokenFileException(string.Join(Environment.NewLine, duplicates));
        return new ApiTokenSet([.. entries.Select(e => (Hash(e.Token), new ApiIdentity(e.Name, e.Scope)))]);
    }

    /// <summary>The identity of <paramref name="token"/> (compared exactly, case-sensitively), or null for an unknown one.</summary>
    public ApiIdentity? Find(string token)
    {
        var hash = Hash(token);
        ApiIdentity? found = null;
        foreach (var (candidate, identity) in _entries)
        {
            if (CryptographicOperations.FixedTimeEquals(candidate, hash)) found = identity;
        }
        return found;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
