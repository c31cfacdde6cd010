using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace GenCluster.Silo.Auth;

/// <summary>
/// Authenticates API requests by their bearer token (or, with <c>--no-auth</c>, every request as admin), and answers
/// refusals: 401 with <c>WWW-Authenticate: Bearer</c> when the token is missing, malformed or unknown, 403 with
/// <c>error="insufficient_scope"</c> when a read token asks for more. Both carry a problem body the CLI shows.
/// Tokens are never logged: only the token's name, the request and the reason.
/// </summary>
internal sealed partial class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder,
    ApiTokenSet tokens, IOptions<ApiAuthOptions> auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    /// <summary>The authentication scheme's name.</summary>
    public const string SchemeName = "Bearer";

    /// <summary>The claim holding the scope's name (<c>read</c> or <c>admin</c>).</summary>
    public const string ScopeClaim = "scope";

    /// <summary>The 401 answer's title when no token came.</summary>
    public const string NoToken = "no token: send 'Authorization: Bearer <token>'";

    /// <summary>The 401 answer's title for an <c>Authorization</c> header that is not <c>Bearer &lt;token&gt;</c>.</summary>
    public const string Malformed = "malformed Authorization header: expected 'Bearer <token>'";

    /// <summary>The 401 answer's title for a token the silo does not know.</summary>
    public const string UnknownToken = "unknown token";

    /// <summary>The 403 answer's title.</summary>
    public const string LacksAdmin = "token lacks admin scope";

    private const string Challenge = "Bearer realm=\"gencluster\"";

    private static readonly ApiIdentity Anonymous = new("anonymous (--no-auth)", ApiScope.Admin);

    /// <summary>The scope of an authenticated <paramref name="user"/>, or null.</summary>
    public static ApiScope? ScopeOf(ClaimsPrincipal user) =>
        ApiAccess.TryParse(user.FindFirst(ScopeClaim)?.Value, out var scope) ? scope : null;

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (auth.Value.NoAuth) return Task.FromResult(Success(Anonymous));
        var header = BearerHeader.Parse(Request.Headers.Authorization);
        return Task.FromResult(header.Kind switch
        {
            BearerHeaderKind.Missing => AuthenticateResult.NoResult(),
            BearerHeaderKind.Malformed => AuthenticateResult.Fail(Malformed),
            _ => tokens.Find(header.Token!) is { } identity ? Success(identity) : AuthenticateResult.Fail(UnknownToken),
        });
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure?.Message;
        LogUnauthenticated(Logger, Request.Method, Request.Path, failure ?? NoToken, Context.Connection.RemoteIpAddress);
        // RFC 6750 §3.1: no error code when the request carried no credentials.
        Response.Headers.WWWAuthenticate = failure is null ? Challenge : $"{Challenge}, error=\"invalid_token\", error_description=\"{failure}\"";
        await Results.Problem(title: failure ?? NoToken, statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(Context);
    }

    /// <inheritdoc />
    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        // Read is the lowest scope and every authenticated caller has one, so a refusal always means admin was needed.
        var name = Context.User.Identity?.Name ?? "";
        LogForbidden(Logger, Request.Method, Request.Path, name, Context.Connection.RemoteIpAddress);
        Response.Headers.WWWAuthenticate = $"{Challenge}, error=\"insufficient_scope\", scope=\"{ApiAccess.Name(ApiScope.Admin)}\"";
        await Results.Problem(title: LacksAdmin, detail: $"token '{name}' lacks admin scope: {Request.Method} {Request.Path} needs admin, the token has read",
            statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(Context);
    }

    private AuthenticateResult Success(ApiIdentity identity)
    {
        Claim[] claims = [new(ClaimTypes.Name, identity.Name), new(ScopeClaim, ApiAccess.Name(identity.Scope))];
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "API request {Method} {Path} from {Remote} refused (401): {Reason}")]
    private static partial void LogUnauthenticated(ILogger logger, string method, PathString path, string reason, IPAddress? remote);

    [LoggerMessage(Level = LogLevel.Information, Message = "API request {Method} {Path} from {Remote} refused (403): token '{Token}' lacks admin scope")]
    private static partial void LogForbidden(ILogger logger, string method, PathString path, string token, IPAddress? remote);
}
