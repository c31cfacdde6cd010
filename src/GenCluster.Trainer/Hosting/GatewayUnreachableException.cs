namespace GenCluster.Trainer.Hosting;

/// <summary>The trainer could not make its first connection to a gateway within <see cref="TrainerOptions.ConnectTimeoutSeconds"/>.</summary>
public sealed class GatewayUnreachableException(string message, Exception inner) : Exception(message, inner);
