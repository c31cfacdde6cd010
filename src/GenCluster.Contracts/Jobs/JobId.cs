using System.Globalization;
using System.Text.RegularExpressions;

namespace GenCluster.Contracts.Jobs;

/// <summary>
/// The form of a job id: the submission time (UTC, to the second) and six random hex digits, e.g.
/// <c>20260101-120000-1a2b3c</c>. Ids are safe as one path segment, and anything else is not a job.
/// </summary>
public static partial class JobId
{
    /// <summary>An id of the right form, for messages.</summary>
    public const string Example = "20260101-120000-1a2b3c";

    /// <summary>Random bytes in an id.</summary>
    public const int RandomBytes = 3;

    /// <summary>The id of a job submitted at <paramref name="submittedAt"/> with <paramref name="random"/> (3 bytes).</summary>
    /// <exception cref="ArgumentException"><paramref name="random"/> is not 3 bytes long.</exception>
    public static string New(DateTimeOffset submittedAt, ReadOnlySpan<byte> random)
    {
        if (random.Length != RandomBytes)
            throw new ArgumentException($"a job id takes {RandomBytes} random bytes, got {random.Length}", nameof(random));
        return string.Create(CultureInfo.InvariantCulture, $"{submittedAt.UtcDateTime:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(random)}");
    }

    /// <summary>True when <paramref name="id"/> has the form of a job id (whether or not such a job exists).</summary>
    public static bool IsWellFormed(string? id) => id is not null && Form().IsMatch(id);

    [GeneratedRegex(@"\A[0-9]{8}-[0-9]{6}-[0-9a-f]{6}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Form();
}
