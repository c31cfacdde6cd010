namespace GenCluster.Silo.Ui;

/// <summary>
/// The job list and job page: static HTML, CSS and JavaScript embedded in this assembly (<c>Ui/Assets</c>), which
/// read the JSON API from the browser. Assets are looked up by name among the embedded ones, never on disk.
/// </summary>
public static class UiEndpoints
{
    private const string ResourcePrefix = "GenCluster.Silo.Ui.Assets.";

    /// <summary>Maps <c>/</c> (to <c>/ui</c>), <c>/ui</c> (job list), <c>/ui/jobs/{id}</c> (job page) and <c>/ui/assets/{name}</c>.</summary>
    public static IEndpointRouteBuilder MapGenClusterUi(this IEndpointRouteBuilder app)
    {
        // Open to anyone: the shell and its scripts hold no data. The scripts fetch everything from /api with the tab's
        // bearer token, and ask for one when the silo answers 401 or 403.
        var ui = app.MapGroup("").AllowAnonymous();
        ui.MapGet("/", () => Results.Redirect("/ui"));
        // One shell for both views (its script picks by path); for an unknown id the page shows the API's error.
        ui.MapGet("/ui", () => Asset("ui.html"));
        ui.MapGet("/ui/jobs/{id}", () => Asset("ui.html"));
        ui.MapGet("/ui/assets/{name}", (string name) => Asset(name));
        return app;
    }

    private static IResult Asset(string name)
    {
        var assembly = typeof(UiEndpoints).Assembly;
        if (ContentType(name) is not { } type || assembly.GetManifestResourceStream(ResourcePrefix + name) is not { } stream)
            return Results.Problem($"no UI asset '{name}'", statusCode: StatusCodes.Status404NotFound);
        return Results.Stream(stream, type);
    }

    private static string? ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        _ => null,
    };
}
