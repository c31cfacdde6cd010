using System.Globalization;

namespace GenCluster.IntegrationTests.Faults;

/// <summary>One round's run of consecutive steps in the job's <c>steps.csv</c> (written by each round's rank 0).</summary>
public sealed record RoundSteps(long Round, long First, long Last)
{
    /// <summary>The step the round resumed from (its checkpoint; 0 = fresh start).</summary>
    public long ResumedFrom => First - 1;
}

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
    private StepHistory(IReadOnlyList<RoundSteps> rounds) => Rounds = rounds;

    public IReadOnlyList<RoundSteps> Rounds { get; }

    public static StepHistory Read(string path)
    {
        var rounds = new List<RoundSteps>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var lines = new StreamReader(stream).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("round,step,epoch,loss_d,loss_g,skipped", lines[0]);
        foreach (var (line, index) in lines.Skip(1).Select((l, i) => (l, i + 2)))
        {
            var fields = line.Split(',');
            Assert.True(fields.Length == 6, $"{path}:{index}: expected 6 fields, got '{line}'");
            var round = long.Parse(fields[0], CultureInfo.InvariantCulture);
            var step = long.Parse(fields[1], CultureInfo.InvariantCulture);
            if (rounds.Count > 0 && rounds[^1].Round == round)
            {
                Assert.True(step == rounds[^1].Last + 1, $"{path}:{index}: round {round} ran step {step} after step {rounds[^1].Last}");
                rounds[^1] = rounds[^1] with { Last = step };
            }
            else
            {
                if (rounds.Count > 0) Assert.True(round > rounds[^1].Round, $"{path}:{index}: round {round} after round {rounds[^1].Round}");
                rounds.Add(new RoundSteps(round, step, step));
            }
        }
        return new StepHistory(rounds);
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
