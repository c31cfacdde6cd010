using GenCluster.Silo.Auth;
using GenCluster.Silo.Local;

namespace GenCluster.Silo.Tests.Auth;

public sealed class ApiAuthHostingExtensionsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gencluster-auth-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void TokensComeFromTheFileAndTheAdminVariable()
    {
        var local = LocalCredentials.Create(_directory);
        var variable = LocalCredentials.NewToken();
        var tokens = ApiAuthHostingExtensions.LoadTokens(new ApiAuthOptions { TokenFile = local.TokenFile, AdminToken = variable });

        Assert.Equal(new ApiIdentity("local", ApiScope.Admin), tokens.Find(local.AdminToken));
        Assert.Equal(new ApiIdentity("prometheus", ApiScope.Read), tokens.Find(local.ReadToken));
        Assert.Equal(new ApiIdentity("GENCLUSTER_ADMIN_TOKEN", ApiScope.Admin), tokens.Find(variable));
    }

    [Fact]
    public void TheAdminVariableMayNotRepeatAFileToken()
    {
        var local = LocalCredentials.Create(_directory);
        var e = Assert.Throws<ApiTokenFileException>(() =>
            ApiAuthHostingExtensions.LoadTokens(new ApiAuthOptions { TokenFile = local.TokenFile, AdminToken = local.ReadToken }));
        Assert.Equal($"GENCLUSTER_ADMIN_TOKEN: the same token is already defined at {local.TokenFile}:3", e.Message);
    }

    [Fact]
    public void TheBannerSaysWhatIsOpen()
    {
        var tokens = ApiTokenSet.From(ApiTokenFile.Parse($"{new string('a', 32)} admin\n{new string('b', 32)} read\n{new string('c', 32)} read\n", "t"));
        Assert.Equal("bearer tokens: 1 admin, 2 read; /metrics open, /health needs a token, /dashboard needs admin",
            ApiAuthHostingExtensions.Describe(new ApiAuthOptions { TokenFile = "t", OpenMetrics = true }, tokens));
        Assert.StartsWith("OFF (--no-auth)", ApiAuthHostingExtensions.Describe(new ApiAuthOptions { NoAuth = true }, ApiTokenSet.Empty));
    }
}
