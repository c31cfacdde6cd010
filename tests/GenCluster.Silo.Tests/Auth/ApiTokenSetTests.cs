using GenCluster.Silo.Auth;

namespace GenCluster.Silo.Tests.Auth;

public class ApiTokenSetTests
{
    private static readonly string Admin = "Ab" + new string('c', 38);
    private static readonly string Reader = new('r', 40);

    private static ApiTokenSet Set() => ApiTokenSet.From(ApiTokenFile.Parse($"{Admin} admin ops\n{Reader} read grafana\n", "tokens"));

    [Fact]
    public void AKnownTokenGivesItsNameAndScope()
    {
        var set = Set();
        Assert.Equal(new ApiIdentity("ops", ApiScope.Admin), set.Find(Admin));
        Assert.Equal(new ApiIdentity("grafana", ApiScope.Read), set.Find(Reader));
        Assert.Equal((1, 1), (set.CountOf(ApiScope.Admin), set.CountOf(ApiScope.Read)));
    }

    [Fact]
    public void OnlyTheExactTokenMatches()
    {
        var set = Set();
        Assert.Null(set.Find(Admin.ToUpperInvariant()));
        Assert.Null(set.Find(Admin.ToLowerInvariant()));
        Assert.Null(set.Find(Admin[..^1]));
        Assert.Null(set.Find(Admin + "c"));
        Assert.Null(set.Find(""));
        Assert.Null(ApiTokenSet.Empty.Find(Admin));
    }

    [Fact]
    public void ATokenFromTwoSourcesIsRefusedNamingBoth()
    {
        var entries = ApiTokenFile.Parse($"{Admin} read ops\n", "/etc/tokens").Append(new ApiTokenEntry(Admin, ApiScope.Admin, "env", "GENCLUSTER_ADMIN_TOKEN", 0));
        var e = Assert.Throws<ApiTokenFileException>(() => ApiTokenSet.From([.. entries]));
        Assert.Equal("GENCLUSTER_ADMIN_TOKEN: the same token is already defined at /etc/tokens:1", e.Message);
    }
}
