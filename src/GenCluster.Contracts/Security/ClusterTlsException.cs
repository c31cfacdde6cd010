namespace GenCluster.Contracts.Security;

/// <summary>A certificate, key or CA file cannot be used; the message names the file, the flag and what is wrong.</summary>
public sealed class ClusterTlsException(string message, Exception? inner = null) : Exception(message, inner);
