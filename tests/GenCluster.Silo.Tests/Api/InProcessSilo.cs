using System.Net;
using System.Text.Json.Nodes;
using GenCluster.Silo.Api;
using GenCluster.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace GenCluster.Silo.Tests.Api;

/// <summary>The real silo host (file mode, free ports, a temporary data directory) started inside the test process.</summary>
public sealed class InProcessSilo : IAsyncLifetime
{
    private WebApplication? _app;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("gencluster-api-").FullName;

    // Taken together so the three are distinct: ports picked one at a time can repeat (seen: silo port = gateway port).
    private readonly int[] _ports = GenCluster.Silo.Local.FreePorts.Take(3);

    public int HttpPort => _ports[0];

    public string Address => $"http://127.0.0.1:{HttpPort}";

    public HttpClient Http { get; private set; } = null!;

    public GenClusterApiClient Client { get; private set; } = null!;

    public static int FreePort() => GenCluster.Silo.Local.FreePorts.One();

    /// <summary>GETs <paramref name="url"/>: the status and the body as JSON.</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body)> GetJsonAsync(string url)
    {
        using var response = await Http.GetAsync(url);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
    }

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Silo:HttpPort"] = HttpPort.ToString(),
            ["Silo:SiloPort"] = _ports[1].ToString(),
            ["Silo:GatewayPort"] = _ports[2].ToString(),
            ["Silo:DataDirectory"] = DataDirectory,
        });
        builder.AddGenClusterSilo();
        _app = builder.Build();
        _app.MapGenClusterApi();
        await _app.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri(Address) };
        Client = new GenClusterApiClient(Http);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Directory.Delete(DataDirectory, recursive: true);
    }
}
