return GenCluster.Fuzz.FuzzCommand.Run(args);
