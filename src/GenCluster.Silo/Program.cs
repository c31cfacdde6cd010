using GenCluster.Silo.Cli;

return await GenClusterCli.Build().Parse(args).InvokeAsync(GenClusterCli.Invocation());
