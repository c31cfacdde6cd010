namespace GenCluster.Contracts.Workers;

/// <summary>
/// Which of a host's cores a trainer binds to when several share the host: slot <c>i</c> of <c>n</c> takes the i-th
/// contiguous block of the cores the process may use (DeepSpeed's <c>--bind_cores_to_rank</c>, torchrun's NUMA binding).
/// </summary>
/// <remarks>
/// Bound, a trainer's compute threads stay on their own cores: the scheduler no longer moves them across its
/// neighbours' cores, each step's time varies less, and in a synchronous job every rank waits for the slowest — so less
/// variance is less waiting. The blocks follow <see cref="ThreadBudget"/>: the same share of the cores per trainer, one
/// of which is left to the ring from four cores each (it runs on the trainer's own block, not another's).
/// </remarks>
public static class CoreShare
{
    /// <summary>
    /// The cores of slot <paramref name="slot"/> among <paramref name="slots"/> trainers, from <paramref name="allowed"/>
    /// (the host's usable cores, in order). With more trainers than cores, slots wrap round the cores one each.
    /// </summary>
    public static IReadOnlyList<int> Of(IReadOnlyList<int> allowed, int slot, int slots)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        if (allowed.Count == 0) throw new ArgumentException("allowed must name at least one core", nameof(allowed));
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), slots, "slots must be at least 1");
        if (slot < 0 || slot >= slots) throw new ArgumentOutOfRangeException(nameof(slot), slot, $"slot must be in [0, {slots - 1}]");
        if (slots > allowed.Count) return [allowed[slot % allowed.Count]];
        var share = allowed.Count / slots;
        return [.. allowed.Skip(slot * share).Take(share)];
    }

    /// <summary>
    /// Whether <paramref name="trainersOnHost"/> trainers on <paramref name="cores"/> cores are bound by default: when
    /// there are several and each can have a core of its own. Alone, a trainer has every core anyway; with more trainers
    /// than cores, binding would only fix which ones share.
    /// </summary>
    public static bool BindsByDefault(int cores, int trainersOnHost) => trainersOnHost > 1 && trainersOnHost <= cores;

    /// <summary>Formats a slot as <c>i/n</c>, the form <see cref="ParseSlot"/> reads.</summary>
    public static string FormatSlot(int slot, int slots) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{slot}/{slots}");

    /// <summary>Reads a slot written <c>i/n</c> (0 ≤ i &lt; n).</summary>
    /// <exception cref="FormatException">It is not of that form; the message names <paramref name="field"/> and the text.</exception>
    public static (int Slot, int Slots) ParseSlot(string text, string field)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var slot)
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var slots)
            && slots >= 1 && slot < slots)
            return (slot, slots);
        throw new FormatException($"{field} must be i/n with 0 <= i < n (trainer i of n sharing this host), got '{text}'");
    }
}
