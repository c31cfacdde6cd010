using GenCluster.Silo.Local;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>
/// The executed history of a job read from <c>steps.csv</c>. What the fault tests check on it:
/// <list type="bullet">
/// <item>within a round, steps are consecutive, each once (no step skipped or run twice inside a round);</item>
/// <item>each round starts right after a step an earlier round reached (no gap: First ≤ previous Last + 1);</item>
/// <item>steps run again after a recovery (previous Last − next ResumedFrom) are at most one checkpoint interval;</item>
/// <item>the last round ends exactly at the target step, so every step 1..target is in the final history exactly once
/// (taking each step from the latest round that ran it).</item>
/// </list>
/// </summary>
public sealed class StepHistory
{
    private StepHistory(IReadOnlyList<JournalRound> rounds) => Rounds = rounds;

    public IReadOnlyList<JournalRound> Rounds { get; }

    /// <summary>Reads the journal; a step out of order inside a round or a round going backwards fails the read.</summary>
    public static StepHistory Read(string path)
    {
        Assert.True(File.Exists(path), $"no step journal at {path}");
        return new StepHistory(StepJournalReader.Read(path));
    }

    /// <summary>Steps run again at each recovery, in order.</summary>
    public IReadOnlyList<long> RerunSteps() =>
        Rounds.Zip(Rounds.Skip(1), (before, after) => before.Last - after.ResumedFrom).ToArray();

    /// <summary>Asserts the properties listed on the class, with <paramref name="checkpointEvery"/> as the bound on re-run steps.</summary>
    public void AssertComplete(long target, int checkpointEvery)
    {
        Assert.NotEmpty(Rounds);
        Assert.Equal(1, Rounds[0].First);
        for (var i = 1; i < Rounds.Count; i++)
        {
            var (before, after) = (Rounds[i - 1], Rounds[i]);
            Assert.True(after.First <= before.Last + 1, $"steps {before.Last + 1}..{after.First - 1} skipped between rounds {before.Round} and {after.Round}");
            Assert.True(before.Last - after.ResumedFrom <= checkpointEvery,
                $"round {after.Round} resumed from step {after.ResumedFrom} but round {before.Round} had reached {before.Last}: " +
                $"{before.Last - after.ResumedFrom} steps re-run, more than one checkpoint interval ({checkpointEvery})");
        }
        Assert.Equal(target, Rounds[^1].Last);
    }

    public override string ToString() => string.Join(", ", Rounds.Select(r => $"round {r.Round}: {r.First}..{r.Last}"));
}
