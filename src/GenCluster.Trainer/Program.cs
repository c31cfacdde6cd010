using System.CommandLine;
using GenCluster.Trainer.Cli;

// The host's own SIGTERM handling runs the checkpoint-and-leave shutdown and exits 0; System.CommandLine's handler
// would instead end the process with 143 after its short termination timeout.
return await TrainerCli.Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
