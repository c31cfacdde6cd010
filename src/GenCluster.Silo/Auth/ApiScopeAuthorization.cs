using Microsoft.AspNetCore.Authorization;

namespace GenCluster.Silo.Auth;

/// <summary>Needs <see cref="Scope"/>; where that is null, the scope the request's method needs (<see cref="ApiAccess.Required"/>).</summary>
public sealed class ApiScopeRequirement(ApiScope? scope) : IAuthorizationRequirement
{
    /// <summary>The scope needed, or null for "by the request's method".</summary>
    public ApiScope? Scope { get; } = scope;
}

/// <summary>Grants an <see cref="ApiScopeRequirement"/> when the caller's token has a scope that covers it.</summary>
internal sealed class ApiScopeAuthorizationHandler : AuthorizationHandler<ApiScopeRequirement>
{
    /// <inheritdoc />
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ApiScopeRequirement requirement)
    {
        var required = requirement.Scope ?? (context.Resource is HttpContext http ? ApiAccess.Required(http.Request.Method) : ApiScope.Admin);
        if (ApiTokenAuthenticationHandler.ScopeOf(context.User) is { } granted && ApiAccess.Allows(granted, required))
            context.Succeed(requirement);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The API's authorization policies and how endpoints choose them. Every endpoint needs a token: one that names a
/// scope (<see cref="RequireScope{TBuilder}"/>, e.g. on a route group) needs that scope; any other, and any path that
/// matches no endpoint, falls under the fallback policy, which needs read for GET/HEAD/OPTIONS and admin otherwise.
/// Only <see cref="RequireReadUnlessOpen{TBuilder}"/> with <c>open</c> lets requests without a token in.
/// </summary>
public static class ApiPolicies
{
    /// <summary>Policy: a read or admin token.</summary>
    public const string Read = "gencluster-read";

    /// <summary>Policy: an admin token.</summary>
    public const string Admin = "gencluster-admin";

    /// <summary>The endpoints of <paramref name="builder"/> need <paramref name="scope"/>.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, ApiScope scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(scope == ApiScope.Admin ? Admin : Read);

    /// <summary>The endpoints of <paramref name="builder"/> need a read token, or none when <paramref name="open"/>.</summary>
    public static TBuilder RequireReadUnlessOpen<TBuilder>(this TBuilder builder, bool open) where TBuilder : IEndpointConventionBuilder =>
        open ? builder.AllowAnonymous() : builder.RequireScope(ApiScope.Read);
}
