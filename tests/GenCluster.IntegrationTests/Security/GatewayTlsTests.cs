using GenCluster.Contracts.Security;
using GenCluster.IntegrationTests.Faults;
using GenCluster.Silo.Local;
using GenCluster.Silo.Security;
using LocalProcess = GenCluster.Silo.Local.ChildProcess;

namespace GenCluster.IntegrationTests.Security;

/// <summary>
/// A real silo with mutual TLS on its gateway and real trainer processes: trainers whose certificate the cluster's CA
/// did not sign, or that speak no TLS, never register and exit non-zero; a trainer with the cluster's certificate does.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class GatewayTlsTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private readonly string _root = Directory.CreateTempSubdirectory("gencluster-tls-").FullName;
    private readonly string _trainerDll = TrainerExecutable.Locate(null, AppContext.BaseDirectory);
    private readonly List<LocalProcess> _trainers = [];
    private readonly SiloProcess _silo;

    public GatewayTlsTests() => _silo = new SiloProcess(Path.Combine(_root, "silo"));

    public void Dispose()
    {
        foreach (var trainer in _trainers)
        {
            trainer.Kill();
            trainer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        _silo.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task OnlyATrainerWithACertificateOfTheClustersCaRegisters()
    {
        var foreign = DevCertificateSet.Write(Path.Combine(_root, "foreign"), [], TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
        // Trusts the silo's CA too, so only the silo's check stands between it and the gateway.
        var bothCas = Path.Combine(_root, "both-ca.crt");
        await File.WriteAllTextAsync(bothCas, await File.ReadAllTextAsync(foreign.CaCertificate) + await File.ReadAllTextAsync(_silo.Credentials.Tls.CaCertificate));
        await _silo.StartAsync();

        var otherCa = StartTrainer("other-ca", "--tls-cert", foreign.Certificate(CertificateRole.Trainer), "--tls-key", foreign.Key(CertificateRole.Trainer), "--tls-ca", bothCas);
        var otherCluster = StartTrainer("other-cluster", foreign.Arguments(CertificateRole.Trainer));
        var plain = StartTrainer("plain", "--insecure-no-tls");

        foreach (var refused in new[] { otherCa, otherCluster, plain })
        {
            Assert.True(await refused.WaitForExitAsync(Patience), $"{refused.Name} still running:\n{refused.Tail()}");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains($"gencluster-trainer run: could not connect to the gateway at 127.0.0.1:{_silo.GatewayPort} within 5 s",
                await File.ReadAllTextAsync(Log(refused.Name)));
        }
        Assert.Empty(await _silo.Api.ListWorkersAsync());
        Assert.Contains($"TLS: refused the trainer certificate 'CN=gencluster-trainer, O=GenCluster' (issuer '{Issuer(foreign)}'): " +
                        $"it was issued by '{Issuer(foreign)}', not by this cluster's CA '{Issuer(_silo.Credentials.Tls)}'", _silo.Output);
        Assert.Contains($"TLS: refused the silo certificate 'CN=gencluster-silo, O=GenCluster' (issuer '{Issuer(_silo.Credentials.Tls)}')", await File.ReadAllTextAsync(Log("other-cluster")));

        StartTrainer("member", _silo.Credentials.Tls.Arguments(CertificateRole.Trainer));
        var deadline = DateTime.UtcNow + Patience;
        while ((await _silo.Api.ListWorkersAsync()).Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the trainer with the cluster's certificate did not register:\n{_trainers[^1].Tail()}");
            await Task.Delay(200);
        }
        var worker = Assert.Single(await _silo.Api.ListWorkersAsync());
        Assert.Equal(("member", true), (worker.Info.WorkerId, worker.Alive));
    }

    private LocalProcess StartTrainer(string id, params string[] tls)
    {
        var ports = FreePorts.Take(2);
        var trainer = LocalProcess.Start(id, _trainerDll,
        [
            "run", "--worker-id", id, "--ring-port", $"{ports[0]}", "--metrics-port", $"{ports[1]}", "--gateway-port", $"{_silo.GatewayPort}",
            "--threads", "1", "--data-dir", Path.Combine(_root, "data"), "--connect-timeout-seconds", "5", .. tls,
        ], Log(id));
        _trainers.Add(trainer);
        return trainer;
    }

    private string Log(string id) => Path.Combine(_root, "logs", $"{id}.log");

    private static string Issuer(DevCertificateSet set) => PemFiles.ReadCertificates(set.CaCertificate, ClusterTlsOptions.CaFlag)[0].Subject;
}
