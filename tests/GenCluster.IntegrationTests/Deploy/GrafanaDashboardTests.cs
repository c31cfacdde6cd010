using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace GenCluster.IntegrationTests.Deploy;

/// <summary>deploy/grafana/gencluster.json imports into Grafana and every query is PromQL over the job_id variable.</summary>
public sealed partial class GrafanaDashboardTests : IDisposable
{
    private const string DataSource = "${DS_PROMETHEUS}";

    private readonly string _temp = Directory.CreateTempSubdirectory("gencluster-dashboard-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void DeclaresThePrometheusInputAndTheJobIdVariable()
    {
        using var doc = GrafanaDashboard.Load();
        var root = doc.RootElement;

        var input = Assert.Single(root.GetProperty("__inputs").EnumerateArray(),
            i => i.GetProperty("name").GetString() == "DS_PROMETHEUS");
        Assert.Equal(("datasource", "prometheus"), (input.GetProperty("type").GetString(), input.GetProperty("pluginId").GetString()));

        var variable = Assert.Single(root.GetProperty("templating").GetProperty("list").EnumerateArray(),
            v => v.GetProperty("name").GetString() == "job_id");
        var query = variable.GetProperty("query");
        var text = query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString() : query.GetString();
        Assert.Equal("label_values(gencluster_job_step, job_id)", text);
        Assert.Equal(DataSource, variable.GetProperty("datasource").GetProperty("uid").GetString());
    }

    [Fact]
    public void EveryPanelHasAQueryOnThePrometheusInputAndAUniqueId()
    {
        using var doc = GrafanaDashboard.Load();
        var panels = GrafanaDashboard.Panels(doc.RootElement).ToList();
        Assert.NotEmpty(panels);

        var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToList();
        var repeated = ids.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(repeated.Count == 0, $"panel ids used more than once: {string.Join(", ", repeated)}");

        var queries = GrafanaDashboard.Queries(doc.RootElement).ToList();
        foreach (var panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            var id = panel.GetProperty("id").GetInt32();
            var title = panel.GetProperty("title").GetString();
            Assert.True(queries.Any(q => q.PanelId == id && q.Expr.Trim().Length > 0), $"panel {id} '{title}' has no target with an expr");
            Assert.True(panel.GetProperty("datasource").GetProperty("uid").GetString() == DataSource,
                $"panel {id} '{title}' does not use the {DataSource} data source");
        }
    }

    [Fact]
    public void ExpressionsAreOneLineAndUseNoVariableButJobId()
    {
        using var doc = GrafanaDashboard.Load();
        foreach (var q in GrafanaDashboard.Queries(doc.RootElement))
        {
            Assert.False(q.Expr.Contains('\n'), $"panel {q.PanelId} '{q.PanelTitle}' {q.RefId}: expr spans lines: {q.Expr}");
            Assert.False(q.Expr.Contains("[[", StringComparison.Ordinal), $"panel {q.PanelId} '{q.PanelTitle}' {q.RefId}: [[var]] syntax: {q.Expr}");
            var others = Variable().Matches(q.Expr).Select(m => m.Groups["name"].Value).Where(v => v != "job_id").ToList();
            Assert.True(others.Count == 0,
                $"panel {q.PanelId} '{q.PanelTitle}' {q.RefId} uses ${string.Join(", $", others)}; only $job_id is allowed: {q.Expr}");
        }
    }

    [Fact]
    public async Task ExpressionsAreValidPromQLOnceJobIdIsSubstituted()
    {
        // promtool has no bare PromQL check, but check rules parses every recording rule's expression.
        using var doc = GrafanaDashboard.Load();
        var queries = GrafanaDashboard.Queries(doc.RootElement).ToList();
        var rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        foreach (var q in queries)
        {
            var expr = Variable().Replace(q.Expr, "j1").Replace("'", "''", StringComparison.Ordinal);
            rules.Append($"      - record: dashboard:panel_{q.PanelId}_{q.RefId}\n        expr: '{expr}'\n");
        }
        File.WriteAllText(Path.Combine(_temp, "dashboard-rules.yml"), rules.ToString());

        var result = await Promtool.AssertSucceedsAsync(_temp, "check", "rules", "dashboard-rules.yml");
        Assert.True(result.Output.Contains($"SUCCESS: {queries.Count} rules found", StringComparison.Ordinal), result.ToString());
    }

    /// <summary>A Grafana variable: <c>$name</c>, <c>${name}</c> or <c>${name:format}</c>.</summary>
    [GeneratedRegex(@"\$(?:\{(?<name>\w+)(?::\w+)?\}|(?<name>\w+))")]
    private static partial Regex Variable();
}
