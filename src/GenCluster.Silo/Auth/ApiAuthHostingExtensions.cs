using Microsoft.AspNetCore.Authentication;
using GenCluster.Silo.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace GenCluster.Silo.Auth;

/// <summary>Registrations of the API's bearer-token authentication and scope-based authorization.</summary>
public static class ApiAuthHostingExtensions
{
    /// <summary>Reads and validates the <c>Auth</c> section now, so a silo without tokens stops before Orleans starts.</summary>
    /// <exception cref="OptionsValidationException">The options are not valid (the message names the flags).</exception>
    public static ApiAuthOptions ReadAuthOptions(IConfiguration configuration) =>
        SiloHostingExtensions.ReadValidated(configuration, ApiAuthOptions.Section, new ApiAuthOptionsValidator());

    /// <summary>The tokens <paramref name="options"/> name: the token file's, then the admin token.</summary>
    /// <exception cref="ApiTokenFileException">The file cannot be read or has a bad line, or a token is defined twice.</exception>
    public static ApiTokenSet LoadTokens(ApiAuthOptions options)
    {
        var entries = new List<ApiTokenEntry>();
        if (options.TokenFile.Length > 0) entries.AddRange(ApiTokenFile.Load(options.TokenFile));
        if (options.AdminToken.Length > 0)
        {
            entries.Add(new ApiTokenEntry(options.AdminToken, ApiScope.Admin, ApiAuthOptions.AdminTokenVariable,
                ApiAuthOptions.AdminTokenVariable, line: 0));
        }
        return ApiTokenSet.From(entries);
    }

    /// <summary>
    /// Adds bearer-token authentication (tokens loaded and checked now) and the policies of <see cref="ApiPolicies"/>,
    /// with the fallback policy that puts every endpoint not explicitly opened behind a token.
    /// </summary>
    public static WebApplicationBuilder AddGenClusterApiAuth(this WebApplicationBuilder builder)
    {
        var tokens = LoadTokens(ReadAuthOptions(builder.Configuration));
        var services = builder.Services;
        services.AddOptions<ApiAuthOptions>().Bind(builder.Configuration.GetSection(ApiAuthOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiAuthOptions>, ApiAuthOptionsValidator>();
        services.AddSingleton(tokens);
        services.AddAuthentication(ApiTokenAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(ApiTokenAuthenticationHandler.SchemeName, null);
        services.AddSingleton<IAuthorizationHandler, ApiScopeAuthorizationHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiPolicies.Read, p => p.AddRequirements(new ApiScopeRequirement(ApiScope.Read)))
            .AddPolicy(ApiPolicies.Admin, p => p.AddRequirements(new ApiScopeRequirement(ApiScope.Admin)))
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().AddRequirements(new ApiScopeRequirement(null)).Build());
        return builder;
    }

    /// <summary>One line on how the API is protected, for the silo's start-up banner.</summary>
    public static string Describe(ApiAuthOptions options, ApiTokenSet tokens)
    {
        if (options.NoAuth) return "OFF (--no-auth): whoever reaches the HTTP port may submit and cancel jobs";
        string Monitoring(string path, bool open) => open ? $"{path} open" : $"{path} needs a token";
        return $"bearer tokens: {tokens.CountOf(ApiScope.Admin)} admin, {tokens.CountOf(ApiScope.Read)} read; " +
               $"{Monitoring("/metrics", options.OpenMetrics)}, {Monitoring("/health", options.OpenHealth)}, /dashboard needs admin";
    }
}
