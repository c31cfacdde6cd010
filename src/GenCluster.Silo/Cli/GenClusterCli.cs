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
        root.Subcommands.Add(SiloCommand.Build());
        root.Subcommands.Add(SubmitCommand.Build());
        root.Subcommands.Add(StatusCommand.Build());
        root.Subcommands.Add(CancelCommand.Build());
        root.Subcommands.Add(WorkersCommand.Build());
        root.Subcommands.Add(CertsCommand.Build());
        root.Subcommands.Add(LocalCommand.Build());
        root.Subcommands.Add(ChaosCommand.Build());
        root.Subcommands.Add(TrainerVerbCommand.Build("sample", "Draw N images from a checkpoint into a .npy file, with labels and a PNG grid beside it"));
        root.Subcommands.Add(TrainerVerbCommand.Build("evaluate", "Score samples (.npy or --checkpoint) with the classifier-feature Fréchet distance against MNIST's test split"));
        return root;
    }

    /// <summary>
    /// How verbs run: on Ctrl+C or SIGTERM the running verb is cancelled and given this long to finish cleanly
    /// (<c>local</c> waits for its trainers' checkpoints) before the process exits.
    /// </summary>
    public static InvocationConfiguration Invocation() => new() { ProcessTerminationTimeout = TimeSpan.FromMinutes(2) };
}
