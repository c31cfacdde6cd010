using System.Text.Json;

namespace GenCluster.IntegrationTests.Deploy;

/// <summary>deploy/grafana/gencluster.json, read as plain JSON.</summary>
internal static class GrafanaDashboard
{
    public static readonly string FilePath = RepoPaths.Of("deploy", "grafana", "gencluster.json");

    /// <summary>One query of one panel.</summary>
    public sealed record Query(int PanelId, string PanelTitle, string RefId, string Expr);

    public static JsonDocument Load() => JsonDocument.Parse(File.ReadAllText(FilePath));

    /// <summary>Every panel, including those inside (collapsed) rows.</summary>
    public static IEnumerable<JsonElement> Panels(JsonElement dashboard)
    {
        if (!dashboard.TryGetProperty("panels", out var panels)) yield break;
        foreach (var panel in panels.EnumerateArray())
        {
            yield return panel;
            foreach (var inner in Panels(panel)) yield return inner;
        }
    }

    /// <summary>Every target's expression (empty when missing) of every panel that is not a row.</summary>
    public static IEnumerable<Query> Queries(JsonElement dashboard)
    {
        foreach (var panel in Panels(dashboard))
        {
            if (panel.GetProperty("type").GetString() == "row" || !panel.TryGetProperty("targets", out var targets)) continue;
            foreach (var target in targets.EnumerateArray())
            {
                yield return new Query(
                    panel.GetProperty("id").GetInt32(),
                    panel.GetProperty("title").GetString() ?? "",
                    target.TryGetProperty("refId", out var refId) ? refId.GetString() ?? "" : "",
                    target.TryGetProperty("expr", out var expr) ? expr.GetString() ?? "" : "");
            }
        }
    }
}
