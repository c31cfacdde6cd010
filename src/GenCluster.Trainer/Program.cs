using GenCluster.Trainer.Cli;

return await TrainerCli.Build().Parse(args).InvokeAsync(TrainerCli.Invocation());
