using System.CommandLine;
using System.Text.RegularExpressions;
using GenCluster.Silo.Cli;
using GenCluster.Trainer.Cli;

namespace GenCluster.IntegrationTests.K8s;

/// <summary>Every container in k8s/ runs a verb and flags that the CLIs really accept.</summary>
public partial class ManifestArgumentsTests
{
    public static TheoryData<string> Manifests() => new(Directory.GetFiles(K8sDirectory(), "*.yaml").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Manifests))]
    public void ContainerArgumentsParse(string manifest)
    {
        var text = File.ReadAllLines(Path.Combine(K8sDirectory(), manifest));
        foreach (var (assembly, args) in Containers(text))
        {
            RootCommand cli = assembly switch
            {
                "gencluster.dll" => GenClusterCli.Build(),
                "gencluster-trainer.dll" => TrainerCli.Build(),
                _ => throw new InvalidOperationException($"{manifest}: unknown assembly {assembly}"),
            };
            // Kubernetes expands $(VAR) from the container's env before the process starts.
            var expanded = args.Select(a => EnvReference().Replace(a, "127.0.0.1")).ToArray();
            var result = cli.Parse(expanded);
            Assert.True(result.Errors.Count == 0,
                $"{manifest}: {assembly} {string.Join(' ', args)}: {string.Join("; ", result.Errors.Select(e => e.Message))}");
        }
    }

    [Fact]
    public void SiloAndTrainerManifestsRunTheirVerbs()
    {
        var silo = Containers(File.ReadAllLines(Path.Combine(K8sDirectory(), "silo.yaml"))).Single();
        var trainer = Containers(File.ReadAllLines(Path.Combine(K8sDirectory(), "trainers.yaml"))).Single();
        Assert.Equal(("gencluster.dll", "silo"), (silo.Assembly, silo.Args[0]));
        Assert.Equal(("gencluster-trainer.dll", "run"), (trainer.Assembly, trainer.Args[0]));
    }

    [Fact]
    public void TheSiloReadsItsApiTokensFromAMountedSecret()
    {
        var manifest = File.ReadAllText(Path.Combine(K8sDirectory(), "silo.yaml"));
        var silo = Containers(manifest.Split('\n')).Single();
        var tokenFile = Assert.Single(silo.Args, a => a.StartsWith("--token-file=", StringComparison.Ordinal))["--token-file=".Length..];
        Assert.DoesNotContain("--no-auth", silo.Args);
        Assert.Contains($"mountPath: {Path.GetDirectoryName(tokenFile)}, readOnly: true", manifest);
        Assert.Contains("secret: { secretName: gencluster-api-tokens }", manifest);
    }

    [Theory]
    [InlineData("silo.yaml", "gencluster-silo-tls")]
    [InlineData("trainers.yaml", "gencluster-trainer-tls")]
    public void SilosAndTrainersReadTheirCertificatesFromAMountedSecret(string file, string secret)
    {
        var manifest = File.ReadAllText(Path.Combine(K8sDirectory(), file));
        var container = Containers(manifest.Split('\n')).Single();
        string Flag(string name) => Assert.Single(container.Args, a => a.StartsWith($"{name}=", StringComparison.Ordinal))[(name.Length + 1)..];

        var files = new[] { Flag("--tls-cert"), Flag("--tls-key"), Flag("--tls-ca") };

        Assert.DoesNotContain("--insecure-no-tls", container.Args);
        Assert.Equal(["tls.crt", "tls.key", "ca.crt"], files.Select(Path.GetFileName));
        var directory = Assert.Single(files.Select(Path.GetDirectoryName).Distinct());
        Assert.Contains($"mountPath: {directory}, readOnly: true", manifest);
        Assert.Contains($"secret: {{ secretName: {secret} }}", manifest);
    }

    private static IEnumerable<(string Assembly, string[] Args)> Containers(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var command = CommandLine().Match(lines[i]);
            if (!command.Success) continue;
            var args = new List<string>();
            var j = i + 1;
            while (j < lines.Length && !lines[j].TrimStart().StartsWith("args:", StringComparison.Ordinal)) j++;
            var indent = -1;
            for (j++; j < lines.Length; j++)
            {
                var item = ListItem().Match(lines[j]);
                if (!item.Success || (indent >= 0 && item.Groups[1].Length != indent)) break;
                indent = item.Groups[1].Length;
                args.Add(item.Groups[2].Value.Trim().Trim('"'));
            }
            yield return (command.Groups[1].Value, args.ToArray());
        }
    }

    private static string K8sDirectory() => RepoPaths.Of("k8s");

    [GeneratedRegex("""command: \["dotnet", "/app/([a-z-]+\.dll)"\]""")]
    private static partial Regex CommandLine();

    [GeneratedRegex("""^(\s*)- (.+)$""")]
    private static partial Regex ListItem();

    [GeneratedRegex("""\$\([A-Z_]+\)""")]
    private static partial Regex EnvReference();
}
