using GenCluster.Silo.Auth;

namespace GenCluster.Silo.Tests.Auth;

public class ApiTokenFileTests
{
    private const string File = "/etc/gencluster/tokens";
    private static readonly string Admin = new('a', 40);
    private static readonly string Reader = "r0-._~+/" + new string('R', 30) + "==";

    [Fact]
    public void LinesGiveTokenScopeAndNameWithCommentsBlankLinesAndTabsIgnored()
    {
        var entries = ApiTokenFile.Parse($"# operators\n\n{Admin} admin alice   # on call\r\n\t{Reader}\tread\n", File);

        Assert.Equal([(Admin, ApiScope.Admin, "alice", 3), (Reader, ApiScope.Read, "tokens:4", 4)],
            entries.Select(e => (e.Token, e.Scope, e.Name, e.Line)));
        Assert.All(entries, e => Assert.Equal(File, e.Source));
        Assert.Equal($"{File}:3", entries[0].Where);
    }

    [Fact]
    public void AnEntryPrintsWithoutItsToken()
    {
        var entry = Assert.Single(ApiTokenFile.Parse($"{Admin} admin alice", File));
        Assert.Equal($"alice (admin) from {File}:1", entry.ToString());
        Assert.DoesNotContain(Admin, entry.ToString());
    }

    [Theory]
    [InlineData("write", "/etc/gencluster/tokens:2: scope 'write' is neither read nor admin")]
    [InlineData("Admin", "/etc/gencluster/tokens:2: scope 'Admin' is neither read nor admin")]
    [InlineData("0123456789abcdef0123456789abcdef", "/etc/gencluster/tokens:2: the second field (32 characters) is neither read nor admin")]
    public void ABadScopeNamesFileAndLine(string scope, string expected)
    {
        var e = Assert.Throws<ApiTokenFileException>(() => ApiTokenFile.Parse($"{Admin} admin\n{Reader} {scope}\n", File));
        Assert.StartsWith(expected, e.Message);
        Assert.DoesNotContain(Reader, e.Message);
    }

    [Fact]
    public void ADuplicateTokenNamesBothLines()
    {
        var e = Assert.Throws<ApiTokenFileException>(() => ApiTokenFile.Parse($"{Admin} admin a\n# x\n{Reader} read\n{Admin} read b\n", File));
        Assert.Equal($"{File}:4: the same token is already defined at {File}:1", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing but comments\n\n   \n")]
    public void AFileWithoutTokensNamesTheFile(string text)
    {
        var e = Assert.Throws<ApiTokenFileException>(() => ApiTokenFile.Parse(text, File));
        Assert.StartsWith($"{File}: the token file has no tokens; each line is 'token scope [name]'", e.Message);
    }

    [Fact]
    public void EveryBadLineIsReportedWithoutQuotingTokens()
    {
        const string shortToken = "tooshort";
        var text = $"{Admin}\n{shortToken} read\n{Reader} read a b\n{Admin[..^1]}, admin\n";
        var e = Assert.Throws<ApiTokenFileException>(() => ApiTokenFile.Parse(text, File));

        Assert.Equal(
        [
            $"{File}:1: expected 'token scope [name]' (2 or 3 fields), got 1",
            $"{File}:2: the token has 8 characters; tokens need at least 32 (make one with: openssl rand -hex 32)",
            $"{File}:3: expected 'token scope [name]' (2 or 3 fields), got 4",
            $"{File}:4: the token has characters other than letters, digits, '-._~+/' and trailing '='",
        ], e.Message.Split(Environment.NewLine));
        foreach (var secret in new[] { Admin, shortToken, Reader }) Assert.DoesNotContain(secret, e.Message);
    }

    [Fact]
    public void LoadNamesAMissingFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-tokens-{Guid.NewGuid():N}");
        var e = Assert.Throws<ApiTokenFileException>(() => ApiTokenFile.Load(path));
        Assert.StartsWith($"{path}: cannot read the token file:", e.Message);
    }

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("# comment\n  tok admin name\n", "tok")]
    [InlineData("\n# only a comment\n", null)]
    public void FirstTokenTakesTheFirstFieldOfTheFirstLineWithOne(string text, string? expected) =>
        Assert.Equal(expected, ApiTokenFile.FirstToken(text));
}
