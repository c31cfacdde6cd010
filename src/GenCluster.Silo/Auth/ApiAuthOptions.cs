using Microsoft.Extensions.Options;

namespace GenCluster.Silo.Auth;

/// <summary>
/// Who may use the silo's HTTP API (configuration section <c>Auth</c>). Authentication is on by default: a silo
/// without tokens does not start unless <see cref="NoAuth"/> says so.
/// </summary>
public sealed class ApiAuthOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Auth";

    /// <summary>The environment variable <c>gencluster silo</c> reads <see cref="AdminToken"/> from.</summary>
    public const string AdminTokenVariable = "GENCLUSTER_ADMIN_TOKEN";

    /// <summary>Token file (<c>--token-file</c>): lines <c>token scope [name]</c>, see <see cref="ApiTokenFile"/>. Empty = none.</summary>
    public string TokenFile { get; set; } = "";

    /// <summary>One more token with admin scope (from <see cref="AdminTokenVariable"/>). Empty = none.</summary>
    public string AdminToken { get; set; } = "";

    /// <summary>Serve the API without authentication: every caller is admin (<c>--no-auth</c>). Default false.</summary>
    public bool NoAuth { get; set; }

    /// <summary>Serve <c>/metrics</c> without a token (<c>--open-metrics</c>). Default false: it needs a read token.</summary>
    public bool OpenMetrics { get; set; }

    /// <summary>Serve <c>/health</c> without a token (<c>--open-health</c>), e.g. for probes. Default false: it needs a read token.</summary>
    public bool OpenHealth { get; set; }

    /// <summary>Whether any token is configured.</summary>
    public bool HasTokens => TokenFile.Length > 0 || AdminToken.Length > 0;
}

/// <summary>Validates <see cref="ApiAuthOptions"/>; messages name the flag, the variable and the configuration key.</summary>
public sealed class ApiAuthOptionsValidator : IValidateOptions<ApiAuthOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ApiAuthOptions o)
    {
        const string section = ApiAuthOptions.Section;
        var errors = new List<string>();
        if (!o.NoAuth && !o.HasTokens)
        {
            errors.Add($"the HTTP API has no tokens: give --token-file <path> ({section}:{nameof(o.TokenFile)}) or set " +
                       $"{ApiAuthOptions.AdminTokenVariable} ({section}:{nameof(o.AdminToken)}), or pass --no-auth ({section}:{nameof(o.NoAuth)}) " +
                       "to serve it without authentication");
        }
        if (o.NoAuth && o.HasTokens)
        {
            errors.Add($"--no-auth ({section}:{nameof(o.NoAuth)}) contradicts the tokens given by --token-file or " +
                       $"{ApiAuthOptions.AdminTokenVariable}: choose one");
        }
        if (o.AdminToken.Length > 0 && ApiTokenFile.TokenProblem(o.AdminToken) is { } problem)
            errors.Add($"{ApiAuthOptions.AdminTokenVariable} ({section}:{nameof(o.AdminToken)}): {problem}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
