namespace GenCluster.Silo.Auth;

/// <summary>
/// One API token: the secret, its scope, a name for logs and where it was defined. <see cref="ToString"/> leaves the
/// secret out, so an entry may be logged.
/// </summary>
public sealed class ApiTokenEntry(string token, ApiScope scope, string name, string source, int line)
{
    /// <summary>The secret the client sends as <c>Authorization: Bearer &lt;token&gt;</c>.</summary>
    public string Token { get; } = token;

    /// <summary>What the token may do.</summary>
    public ApiScope Scope { get; } = scope;

    /// <summary>Who holds it (the third field of its line, or <c>file:line</c>); appears in logs and 403 answers.</summary>
    public string Name { get; } = name;

    /// <summary>The file (or environment variable) it came from.</summary>
    public string Source { get; } = source;

    /// <summary>Its line in <see cref="Source"/> (1-based), 0 for an environment variable.</summary>
    public int Line { get; } = line;

    /// <summary><c>source:line</c>, or the source alone when it has no lines.</summary>
    public string Where => Line > 0 ? $"{Source}:{Line}" : Source;

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({ApiAccess.Name(Scope)}) from {Where}";
}

/// <summary>A token file (or token variable) that cannot be used; the message names the file, the line and the problem.</summary>
public sealed class ApiTokenFileException(string message) : Exception(message);

/// <summary>
/// The token file of <c>gencluster silo --token-file</c>: one token per line as <c>token scope [name]</c>, scope
/// <c>read</c> or <c>admin</c>, fields separated by spaces or tabs; <c>#</c> starts a comment, blank lines are ignored.
/// Tokens are RFC 6750 <c>b64token</c>s (letters, digits, <c>-._~+/</c>, trailing <c>=</c>) of at least
/// <see cref="MinimumLength"/> characters, each at most once. No error message quotes a token.
/// </summary>
public static class ApiTokenFile
{
    /// <summary>Fewest characters a token may have (32 random hex digits give 128 bits).</summary>
    public const int MinimumLength = 32;

    private const int LongestQuotedScope = 12;

    /// <summary>Reads and parses <paramref name="path"/>.</summary>
    /// <exception cref="ApiTokenFileException">The file cannot be read, or has no tokens or a bad line.</exception>
    public static IReadOnlyList<ApiTokenEntry> Load(string path)
    {
        var full = Path.GetFullPath(path);
        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ApiTokenFileException($"{full}: cannot read the token file: {e.Message}");
        }
        return Parse(text, full);
    }

    /// <summary>Parses token-file text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ApiTokenFileException">Every bad line, one per message line, or the file has no tokens.</exception>
    public static IReadOnlyList<ApiTokenEntry> Parse(string text, string source)
    {
        var entries = new List<ApiTokenEntry>();
        var errors = new List<string>();
        foreach (var (line, fields) in Lines(text))
        {
            if (fields.Length is < 2 or > 3)
            {
                errors.Add($"{source}:{line}: expected 'token scope [name]' (2 or 3 fields), got {fields.Length}");
                continue;
            }
            if (TokenProblem(fields[0]) is { } problem) errors.Add($"{source}:{line}: {problem}");
            if (!ApiAccess.TryParse(fields[1], out var scope))
            {
                // A long second field may be a token written in the wrong place: never quote it.
                errors.Add(fields[1].Length <= LongestQuotedScope
                    ? $"{source}:{line}: scope '{fields[1]}' is neither read nor admin"
                    : $"{source}:{line}: the second field ({fields[1].Length} characters) is neither read nor admin; lines are 'token scope [name]'");
            }
            entries.Add(new ApiTokenEntry(fields[0], scope, fields.Length == 3 ? fields[2] : $"{Path.GetFileName(source)}:{line}", source, line));
        }
        errors.AddRange(DuplicateErrors(entries));
        if (errors.Count > 0) throw new ApiTokenFileException(string.Join(Environment.NewLine, errors));
        if (entries.Count == 0)
            throw new ApiTokenFileException($"{source}: the token file has no tokens; each line is 'token scope [name]' with scope read or admin, '#' starts a comment");
        return entries;
    }

    /// <summary>The first field of the first line that has one (a bare token, or the first token of a token file), or null.</summary>
    public static string? FirstToken(string text) => Lines(text).Select(l => l.Fields[0]).FirstOrDefault();

    /// <summary>Why <paramref name="token"/> cannot be a token (without quoting it), or null when it can.</summary>
    public static string? TokenProblem(string token)
    {
        if (!BearerHeader.IsB64Token(token))
            return "the token has characters other than letters, digits, '-._~+/' and trailing '='";
        if (token.Length < MinimumLength)
            return $"the token has {token.Length} characters; tokens need at least {MinimumLength} (make one with: openssl rand -hex 32)";
        return null;
    }

    /// <summary>One message per token defined more than once, naming both places.</summary>
    public static IEnumerable<string> DuplicateErrors(IEnumerable<ApiTokenEntry> entries)
    {
        var first = new Dictionary<string, ApiTokenEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (!first.TryAdd(entry.Token, entry)) yield return $"{entry.Where}: the same token is already defined at {first[entry.Token].Where}";
        }
    }

    /// <summary>The lines that hold fields, with their 1-based numbers; comments and blank lines left out.</summary>
    private static IEnumerable<(int Line, string[] Fields)> Lines(string text)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var comment = line.IndexOf('#');
            if (comment >= 0) line = line[..comment];
            var fields = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0) yield return (i + 1, fields);
        }
    }
}
