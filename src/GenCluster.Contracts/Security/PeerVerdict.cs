namespace GenCluster.Contracts.Security;

/// <summary>Whether a peer's certificate is accepted and, when it is not, why (a sentence fit for a log line).</summary>
public readonly record struct PeerVerdict(bool Accepted, string Reason)
{
    /// <summary>The certificate is accepted.</summary>
    public static PeerVerdict Accept { get; } = new(true, "");

    /// <summary>The certificate is refused because of <paramref name="reason"/>.</summary>
    public static PeerVerdict Refuse(string reason) => new(false, reason);
}
