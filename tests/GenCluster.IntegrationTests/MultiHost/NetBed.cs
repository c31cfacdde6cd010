using System.Diagnostics;

namespace GenCluster.IntegrationTests.MultiHost;

/// <summary>One host of the test bed: its network namespace and its address.</summary>
public sealed record NetHost(string Name, string Namespace, string Address);

/// <summary>
/// The multi-host test bed of <c>scripts/netbed/netbed.sh</c>: hosts <c>ctl</c>, <c>ctl2</c> and <c>gpu1..N</c>, each a
/// network namespace with its own address on one bridge, GPU links shaped by <c>tc tbf</c>. It needs root, and says
/// so; disposing stops everything running on the hosts and removes them.
/// </summary>
public sealed class NetBed : IDisposable
{
    private NetBed(int gpuHosts, string profile)
    {
        GpuHosts = Enumerable.Range(1, gpuHosts).Select(i => Host($"gpu{i}")).ToList();
        Profile = profile;
    }

    public static string Script => RepoPaths.Of("scripts", "netbed", "netbed.sh");

    public NetHost Control => Host("ctl");

    public NetHost Control2 => Host("ctl2");

    public IReadOnlyList<NetHost> GpuHosts { get; }

    public string Profile { get; private set; }

    /// <summary>Builds the bed; a machine where this cannot run fails here with the reason, never silently.</summary>
    public static NetBed Up(int gpuHosts, string profile)
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException(
                $"the multi-host test bed needs root (network namespaces, veth pairs, a bridge, tc); this test runs as '{Environment.UserName}'");
        }

        var bed = new NetBed(gpuHosts, profile);
        bed.Run("up", "--gpu-hosts", gpuHosts.ToString(System.Globalization.CultureInfo.InvariantCulture), "--profile", profile);
        return bed;
    }

    public static NetHost Host(string name)
    {
        var address = name switch
        {
            "ctl" => "10.77.0.2",
            "ctl2" => "10.77.0.3",
            _ when name.StartsWith("gpu", StringComparison.Ordinal) => $"10.77.0.{10 + int.Parse(name[3..], System.Globalization.CultureInfo.InvariantCulture)}",
            _ => throw new ArgumentException($"no host '{name}' in the test bed (ctl, ctl2, gpu1..)", nameof(name)),
        };
        return new NetHost(name, $"gcn-{name}", address);
    }

    /// <summary>Takes the host's link down at the bridge: its packets are dropped from now on, and no TCP reset is sent.</summary>
    public void Cut(NetHost host) => Run("cut", host.Name);

    public void Restore(NetHost host) => Run("restore", host.Name);

    public void Shape(string profile)
    {
        Run("shape", profile);
        Profile = profile;
    }

    /// <summary>
    /// The arguments of <see cref="Script"/> that run <paramref name="program"/> on <paramref name="host"/> (in its network
    /// namespace, with the host's name as its hostname), keeping the process id.
    /// </summary>
    public static string[] On(NetHost host, string program, params string[] arguments) => ["exec", host.Name, program, .. arguments];

    /// <summary>Bytes <paramref name="host"/> has sent over its link so far (what the bridge's end of its veth pair received).</summary>
    public static long SentBytes(NetHost host) =>
        long.Parse(File.ReadAllText($"/sys/class/net/gcn-{host.Name}/statistics/rx_bytes").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose() => Run("down");

    private void Run(params string[] arguments)
    {
        var psi = new ProcessStartInfo(Script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) psi.ArgumentList.Add(argument);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"netbed.sh {string.Join(' ', arguments)} did not finish within 60 s");
        }

        if (process.ExitCode != 0)
            throw new InvalidOperationException($"netbed.sh {string.Join(' ', arguments)} exited {process.ExitCode}: {stdout.Result}{stderr.Result}");
    }
}
