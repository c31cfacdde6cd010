using System.Net;

namespace GenCluster.Trainer.Cli;

/// <summary>
/// Where one bench rank runs: inside a Linux network namespace (a "host" of a test bed such as
/// <c>scripts/netbed/netbed.sh</c>), with its ring server bound to that host's address.
/// </summary>
internal sealed record BenchHost(string Namespace, IPAddress Address)
{
    /// <summary>
    /// Parses <c>netns=ip,netns=ip,...</c>, one entry per rank in rank order; errors name <paramref name="option"/> and
    /// say what was expected.
    /// </summary>
    public static IReadOnlyList<BenchHost> ParseList(string text, int ranks, string option)
    {
        var entries = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (entries.Length != ranks)
            throw new FormatException($"{option}: expected one netns=ip entry per rank ({ranks}), got {entries.Length} in '{text}'.");
        return entries.Select(entry =>
        {
            var parts = entry.Split('=');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[0].Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                throw new FormatException($"{option}: expected netns=ip with a namespace name of letters, digits, '-', '_' or '.', got '{entry}'.");
            if (!IPAddress.TryParse(parts[1], out var address))
                throw new FormatException($"{option}: '{parts[1]}' in '{entry}' is not an IP address.");
            return new BenchHost(parts[0], address);
        }).ToList();
    }
}
