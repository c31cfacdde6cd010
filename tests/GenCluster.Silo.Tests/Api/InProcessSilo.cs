using System.Net;
using System.Text.Json.Nodes;
using GenCluster.Contracts.Security;
using GenCluster.Silo.Api;
using GenCluster.Silo.Hosting;
using GenCluster.Silo.Local;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace GenCluster.Silo.Tests.Api;

/// <summary>
/// The real silo host (file mode, free ports, a temporary data directory) started inside the test process, with a
/// token file holding an admin and a read token and a local CA's certificates (mutual TLS on the Orleans ports);
/// <see cref="Http"/> and <see cref="Client"/> send the admin token.
/// </summary>
public sealed class InProcessSilo : IAsyncLifetime
{
    private WebApplication? _app;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("gencluster-api-").FullName;

    /// <summary>More configuration (e.g. <c>Auth:OpenMetrics</c>), set before <see cref="InitializeAsync"/>.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    // Taken together so the three are distinct: ports picked one at a time can repeat (seen: silo port = gateway port).
    private readonly int[] _ports = GenCluster.Silo.Local.FreePorts.Take(3);

    public int HttpPort => _ports[0];

    public string Address => $"http://127.0.0.1:{HttpPort}";

    public LocalCredentials Credentials { get; private set; } = null!;

    public string AdminToken => Credentials.AdminToken;

    public string ReadToken => Credentials.ReadToken;

    public HttpClient Http { get; private set; } = null!;

    public GenClusterApiClient Client { get; private set; } = null!;

    public static int FreePort() => GenCluster.Silo.Local.FreePorts.One();

    /// <summary>A client of this silo sending <paramref name="token"/> (none when null); the caller disposes it.</summary>
    public HttpClient HttpWith(string? token) => GenClusterApiClient.CreateHttp(new Uri(Address), token);

    /// <summary>GETs <paramref name="url"/>: the status and the body as JSON.</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body)> GetJsonAsync(string url)
    {
        using var response = await Http.GetAsync(url);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
    }

    public async Task InitializeAsync()
    {
        Credentials = LocalCredentials.Create(DataDirectory);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Silo:HttpPort"] = HttpPort.ToString(),
            ["Silo:SiloPort"] = _ports[1].ToString(),
            ["Silo:GatewayPort"] = _ports[2].ToString(),
            ["Silo:DataDirectory"] = DataDirectory,
            ["Auth:TokenFile"] = Credentials.TokenFile,
            ["Tls:CertificateFile"] = Credentials.Tls.Certificate(CertificateRole.Silo),
            ["Tls:KeyFile"] = Credentials.Tls.Key(CertificateRole.Silo),
            ["Tls:CaFile"] = Credentials.Tls.CaCertificate,
        });
        builder.Configuration.AddInMemoryCollection(Settings);
        builder.AddGenClusterSilo();
        _app = builder.Build();
        _app.MapGenClusterApi();
        await _app.StartAsync();
        Http = HttpWith(AdminToken);
        Client = new GenClusterApiClient(Http);
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Directory.Delete(DataDirectory, recursive: true);
    }
}
