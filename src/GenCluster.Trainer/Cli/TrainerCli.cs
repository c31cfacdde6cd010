using System.CommandLine;

namespace GenCluster.Trainer.Cli;

/// <summary>The <c>gencluster-trainer</c> command line (one trainer process per device).</summary>
public static class TrainerCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("GenCluster trainer: one process per device; trains and all-reduces over a gRPC ring.");
        root.Subcommands.Add(RunCommand.Build());
        root.Subcommands.Add(BenchAllReduceCommand.Build());
        root.Subcommands.Add(BenchStepCommand.Create());
        root.Subcommands.Add(SampleCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        return root;
    }
}
