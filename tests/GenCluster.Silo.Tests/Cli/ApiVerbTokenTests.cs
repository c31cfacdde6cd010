using GenCluster.Silo.Cli;
using GenCluster.Silo.Local;
using GenCluster.Silo.Tests.Api;

namespace GenCluster.Silo.Tests.Cli;

/// <summary>How the API verbs of the real executable send their token, and what they print when the silo refuses it.</summary>
public class ApiVerbTokenTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    private static readonly Dictionary<string, string?> NoVariables = [];

    private async Task<int> JobCount() => (await silo.Client.ListJobsAsync()).Count;

    [Fact]
    public async Task WithoutATokenTheVerbSaysTheSiloRefusedAndHowToGiveOne()
    {
        var before = await JobCount();
        var (code, output) = GenClusterCliTests.RunCliWith(NoVariables, "submit", "--api", silo.Address, "--steps", "5");
        Assert.Equal(1, code);
        Assert.Equal("the silo refused the request: no token (give --token-file <path> or --token <token>, or set GENCLUSTER_TOKEN)", output.Trim());
        Assert.Equal(before, await JobCount());
    }

    [Fact]
    public async Task AReadTokenFromTheVariableReadsButCannotSubmit()
    {
        var read = new Dictionary<string, string?> { ["GENCLUSTER_TOKEN"] = silo.ReadToken };
        var (code, output) = GenClusterCliTests.RunCliWith(read, "status", "--api", silo.Address);
        Assert.True(code == 0, output);
        Assert.Contains("STATE", output);

        var before = await JobCount();
        (code, output) = GenClusterCliTests.RunCliWith(read, "submit", "--api", silo.Address, "--steps", "5");
        Assert.Equal(1, code);
        Assert.Equal("the silo refused the request: the token lacks admin scope (submit and cancel need an admin token)", output.Trim());
        Assert.Equal(before, await JobCount());
    }

    [Fact]
    public void TheSilosTokenFileGivesItsFirstTokenAndTheFlagBeatsTheVariable()
    {
        var wrong = new Dictionary<string, string?> { ["GENCLUSTER_TOKEN"] = LocalCredentials.NewToken() };
        var (code, output) = GenClusterCliTests.RunCliWith(wrong, "submit", "--api", silo.Address, "--steps", "5", "--token-file", silo.Credentials.TokenFile);
        Assert.True(code == 0, output);
        var id = output.Split(' ')[2];

        (code, output) = GenClusterCliTests.RunCliWith(wrong, "cancel", id, "--api", silo.Address, "--token", silo.AdminToken);
        Assert.True(code == 0, output);
        Assert.Contains("Cancelled", output);

        (code, output) = GenClusterCliTests.RunCliWith(wrong, "workers", "--api", silo.Address);
        Assert.Equal(1, code);
        Assert.Equal("the silo refused the request: it does not accept this token (check --token, --token-file or GENCLUSTER_TOKEN)", output.Trim());
    }

    [Fact]
    public void TokenProblemsAreNamedBeforeAnythingIsSent()
    {
        var (code, output) = GenClusterCliTests.RunCliWith(NoVariables, "status", "--api", silo.Address, "--token", "short");
        Assert.Equal((1, "--token: the token has 5 characters; tokens need at least 32 (make one with: openssl rand -hex 32)"), (code, output.Trim()));

        (code, output) = GenClusterCliTests.RunCliWith(NoVariables, "status", "--api", silo.Address, "--token", silo.AdminToken, "--token-file", silo.Credentials.TokenFile);
        Assert.Equal((1, "give --token or --token-file, not both"), (code, output.Trim()));

        var missing = Path.Combine(silo.DataDirectory, "no-such-token");
        (code, output) = GenClusterCliTests.RunCliWith(NoVariables, "status", "--api", silo.Address, "--token-file", missing);
        Assert.Equal(1, code);
        Assert.StartsWith($"--token-file: {missing}: cannot read it:", output.Trim());
    }

    [Theory]
    [InlineData(401, false, "no token")]
    [InlineData(401, true, "it does not accept this token")]
    [InlineData(403, true, "the token lacks admin scope")]
    public void RefusalsSayWhy(int status, bool tokenSent, string reason) =>
        Assert.StartsWith($"the silo refused the request: {reason}", ApiVerb.Refusal(status, tokenSent));
}
