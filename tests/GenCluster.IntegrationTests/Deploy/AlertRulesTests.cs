using System.Text.RegularExpressions;

namespace GenCluster.IntegrationTests.Deploy;

/// <summary>deploy/prometheus/alerts.yml is valid, passes its promtool unit tests, and those tests can fail.</summary>
public sealed partial class AlertRulesTests : IDisposable
{
    private static readonly string PrometheusDirectory = RepoPaths.Of("deploy", "prometheus");

    private readonly string _temp = Directory.CreateTempSubdirectory("gencluster-alerts-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string> Alerts() =>
        new(AlertName().Matches(ReadRules()).Select(m => m.Groups[1].Value));

    [Fact]
    public async Task RulesPassPromtoolCheckRules()
    {
        var result = await Promtool.AssertSucceedsAsync(PrometheusDirectory, "check", "rules", "alerts.yml");
        var alerts = AlertName().Matches(ReadRules()).Count;
        Assert.True(result.Output.Contains($"SUCCESS: {alerts} rules found", StringComparison.Ordinal), result.ToString());
    }

    [Fact]
    public Task UnitTestsPass() => Promtool.AssertSucceedsAsync(PrometheusDirectory, "test", "rules", "alerts.test.yml");

    [Fact]
    public async Task AWrongExpectedLabelFailsTheUnitTests()
    {
        var tests = ReadTests();
        Assert.Contains("severity: critical", tests);
        var result = await RunOnCopy(ReadRules(), tests.Replace("severity: critical", "severity: page", StringComparison.Ordinal));
        Assert.True(result.ExitCode != 0, $"a wrong expected severity should fail: {result}");
        Assert.True(result.Output.Contains("severity=\"page\"", StringComparison.Ordinal), result.ToString());
    }

    [Theory]
    [MemberData(nameof(Alerts))]
    public async Task EveryAlertHasACaseWhereItFires(string alert)
    {
        // Renamed in a copy of the rules, the alert never fires under its own name: only a case expecting it fails.
        var rules = ReadRules().Replace($"- alert: {alert}\n", $"- alert: {alert}Renamed\n", StringComparison.Ordinal);
        Assert.NotEqual(ReadRules(), rules);
        var result = await RunOnCopy(rules, ReadTests());
        Assert.True(result.ExitCode != 0, $"no test case expects {alert} to fire: {result}");
        Assert.True(result.Output.Contains($"alertname: {alert},", StringComparison.Ordinal), result.ToString());
    }

    [Theory]
    [MemberData(nameof(Alerts))]
    public void EveryAlertHasACaseWhereItMustNotFire(string alert)
    {
        var quiet = new Regex($@"alertname: {alert}\s*\n\s*exp_alerts: \[\]");
        Assert.True(quiet.IsMatch(ReadTests()), $"alerts.test.yml has no 'exp_alerts: []' case for {alert}");
    }

    private async Task<Promtool.Result> RunOnCopy(string rules, string tests)
    {
        File.WriteAllText(Path.Combine(_temp, "alerts.yml"), rules);
        File.WriteAllText(Path.Combine(_temp, "alerts.test.yml"), tests);
        return await Promtool.RunAsync(_temp, "test", "rules", "alerts.test.yml");
    }

    private static string ReadRules() => File.ReadAllText(Path.Combine(PrometheusDirectory, "alerts.yml"));

    private static string ReadTests() => File.ReadAllText(Path.Combine(PrometheusDirectory, "alerts.test.yml"));

    [GeneratedRegex(@"^\s*- alert: (\w+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AlertName();
}
