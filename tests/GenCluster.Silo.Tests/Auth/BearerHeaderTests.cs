using GenCluster.Silo.Auth;
using Microsoft.Extensions.Primitives;

namespace GenCluster.Silo.Tests.Auth;

public class BearerHeaderTests
{
    [Theory]
    [InlineData("Bearer abc-._~+/123==", "abc-._~+/123==")]
    [InlineData("bearer abc", "abc")]
    [InlineData("BEARER   abc", "abc")]
    [InlineData("  Bearer abc  ", "abc")]
    public void ABearerTokenIsTakenAsSent(string header, string token) =>
        Assert.Equal(new BearerHeader(BearerHeaderKind.Token, token), BearerHeader.Parse(header));

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearerabc")]
    [InlineData("Bearer\tabc")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Token abc")]
    [InlineData("Bearer abc def")]
    [InlineData("Bearer abc,def")]
    [InlineData("Bearer =abc")]
    [InlineData("Bearer ====")]
    [InlineData("Bearer \"abc\"")]
    public void AnythingElseIsMalformed(string header) =>
        Assert.Equal(new BearerHeader(BearerHeaderKind.Malformed, null), BearerHeader.Parse(header));

    [Fact]
    public void TwoHeadersAreMalformedAndNoneIsMissing()
    {
        Assert.Equal(BearerHeaderKind.Malformed, BearerHeader.Parse(new StringValues(["Bearer abc", "Bearer abc"])).Kind);
        Assert.Equal(BearerHeaderKind.Missing, BearerHeader.Parse(StringValues.Empty).Kind);
        Assert.Equal(BearerHeaderKind.Missing, BearerHeader.Parse("  ").Kind);
    }
}
