using System.CommandLine;

namespace GenCluster.Silo.Cli;

/// <summary>The <c>gencluster</c> command line: each verb lives in its own class and is added here.</summary>
public static class GenClusterCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "GenCluster: data-parallel training of generative image models across many trainer processes, " +
            "scheduled by an Orleans control plane.");
        return root;
    }
}
