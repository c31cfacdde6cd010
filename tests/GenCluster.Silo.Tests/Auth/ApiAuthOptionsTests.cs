using GenCluster.Silo.Auth;

namespace GenCluster.Silo.Tests.Auth;

public class ApiAuthOptionsTests
{
    private static IEnumerable<string> Errors(ApiAuthOptions options) =>
        new ApiAuthOptionsValidator().Validate(null, options).Failures ?? [];

    [Fact]
    public void NoTokensAndNoNoAuthIsRefusedNamingTheWaysOut()
    {
        var error = Assert.Single(Errors(new ApiAuthOptions()));
        foreach (var name in new[] { "--token-file", "GENCLUSTER_ADMIN_TOKEN", "--no-auth", "Auth:TokenFile", "Auth:NoAuth" })
            Assert.Contains(name, error);
    }

    [Fact]
    public void ATokenFileAnAdminTokenOrNoAuthIsEnough()
    {
        Assert.Empty(Errors(new ApiAuthOptions { TokenFile = "tokens" }));
        Assert.Empty(Errors(new ApiAuthOptions { AdminToken = new string('a', 32) }));
        Assert.Empty(Errors(new ApiAuthOptions { NoAuth = true, OpenMetrics = true }));
    }

    [Fact]
    public void NoAuthWithTokensIsAContradiction()
    {
        var error = Assert.Single(Errors(new ApiAuthOptions { NoAuth = true, TokenFile = "tokens" }));
        Assert.StartsWith("--no-auth (Auth:NoAuth) contradicts", error);
    }

    [Fact]
    public void AWeakAdminTokenIsRefusedWithoutQuotingIt()
    {
        var error = Assert.Single(Errors(new ApiAuthOptions { AdminToken = "hunter2hunter2" }));
        Assert.Equal("GENCLUSTER_ADMIN_TOKEN (Auth:AdminToken): the token has 14 characters; tokens need at least 32 (make one with: openssl rand -hex 32)", error);
    }
}
