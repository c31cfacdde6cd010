using GenCluster.Silo.Auth;

namespace GenCluster.Silo.Tests.Auth;

public class ApiScopeTests
{
    [Theory]
    [InlineData("GET", ApiScope.Read)]
    [InlineData("HEAD", ApiScope.Read)]
    [InlineData("OPTIONS", ApiScope.Read)]
    [InlineData("get", ApiScope.Read)]
    [InlineData("POST", ApiScope.Admin)]
    [InlineData("PUT", ApiScope.Admin)]
    [InlineData("PATCH", ApiScope.Admin)]
    [InlineData("DELETE", ApiScope.Admin)]
    [InlineData("FOO", ApiScope.Admin)]
    public void OnlyReadingMethodsNeedNoMoreThanRead(string method, ApiScope needed) => Assert.Equal(needed, ApiAccess.Required(method));

    [Theory]
    [InlineData(ApiScope.Read, ApiScope.Read, true)]
    [InlineData(ApiScope.Read, ApiScope.Admin, false)]
    [InlineData(ApiScope.Admin, ApiScope.Read, true)]
    [InlineData(ApiScope.Admin, ApiScope.Admin, true)]
    public void AdminCoversRead(ApiScope granted, ApiScope required, bool allowed) => Assert.Equal(allowed, ApiAccess.Allows(granted, required));

    [Theory]
    [InlineData("read", true, ApiScope.Read)]
    [InlineData("admin", true, ApiScope.Admin)]
    [InlineData("Admin", false, ApiScope.Read)]
    [InlineData("write", false, ApiScope.Read)]
    [InlineData(null, false, ApiScope.Read)]
    public void ScopeNamesAreExact(string? text, bool parsed, ApiScope scope)
    {
        Assert.Equal(parsed, ApiAccess.TryParse(text, out var actual));
        if (parsed) Assert.Equal((scope, text), (actual, ApiAccess.Name(actual)));
    }
}
