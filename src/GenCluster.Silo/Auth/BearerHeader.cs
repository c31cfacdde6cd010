using Microsoft.Extensions.Primitives;

namespace GenCluster.Silo.Auth;

/// <summary>What an <c>Authorization</c> header holds.</summary>
public enum BearerHeaderKind
{
    /// <summary>No header (or an empty one).</summary>
    Missing,

    /// <summary>A header that is not exactly <c>Bearer &lt;token&gt;</c>.</summary>
    Malformed,

    /// <summary>A bearer token.</summary>
    Token,
}

/// <summary>The parsed <c>Authorization</c> header; <see cref="Token"/> is set only for <see cref="BearerHeaderKind.Token"/>.</summary>
public readonly record struct BearerHeader(BearerHeaderKind Kind, string? Token)
{
    /// <summary>
    /// Parses the request's <c>Authorization</c> header values as RFC 6750 <c>Bearer 1*SP b64token</c>; the scheme is
    /// case-insensitive (RFC 9110), the token is taken as sent. Two headers, another scheme, a missing token or a token
    /// with other characters (a space inside, a comma) are <see cref="BearerHeaderKind.Malformed"/>.
    /// </summary>
    public static BearerHeader Parse(StringValues values)
    {
        if (values.Count == 0 || (values.Count == 1 && string.IsNullOrWhiteSpace(values[0]))) return new(BearerHeaderKind.Missing, null);
        if (values.Count > 1) return Malformed;
        var value = values[0]!.Trim();
        const string scheme = "Bearer";
        if (value.Length <= scheme.Length || !value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || value[scheme.Length] != ' ')
            return Malformed;
        var token = value[(scheme.Length + 1)..].TrimStart(' ');
        return token.Length > 0 && IsB64Token(token) ? new(BearerHeaderKind.Token, token) : Malformed;
    }

    private static BearerHeader Malformed => new(BearerHeaderKind.Malformed, null);

    /// <summary>Whether <paramref name="token"/> is an RFC 6750 <c>b64token</c>: letters, digits, <c>-._~+/</c>, then any <c>=</c>.</summary>
    public static bool IsB64Token(string token)
    {
        var body = token.AsSpan().TrimEnd('=');
        return !body.IsEmpty && !body.ContainsAnyExcept(B64TokenCharacters);
    }

    private static readonly System.Buffers.SearchValues<char> B64TokenCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");
}
