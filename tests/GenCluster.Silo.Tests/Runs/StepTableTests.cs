using GenCluster.Silo.Runs;

namespace GenCluster.Silo.Tests.Runs;

public class StepTableTests
{
    private const string Header = "round,step,epoch,skipped,loss_d,loss_g\n";

    private static IReadOnlyList<double?[]> Rows(params double?[][] rows) => rows;

    [Fact]
    public void RowsAfterTheStepAreNumbersWithNaNAsNull()
    {
        var table = StepTable.Parse(Header + "1,1,0,0,1.5,2\n1,2,0,0,NaN,2.5\n1,3,0,1,-Infinity,1e-3\n", after: 1, maxRows: 10);

        Assert.Equal(["round", "step", "epoch", "skipped", "loss_d", "loss_g"], table.Columns);
        Assert.Equal(Rows([1, 2, 0, 0, null, 2.5], [1, 3, 0, 1, null, 0.001]), table.Rows);
        Assert.Equal((3L, 2, false), (table.LastStep, table.Matched, table.Downsampled));
    }

    [Fact]
    public void AReRunStepKeepsItsLatestLineAndRowsAscendByStep()
    {
        // Round 1 reached step 4; round 2 resumed from the step-2 checkpoint and ran 3 and 4 again.
        var text = Header + "1,1,0,0,1,1\n1,2,0,0,2,2\n1,3,0,0,3,3\n1,4,0,0,4,4\n2,3,0,0,30,30\n2,4,0,0,40,40\n2,5,0,0,50,50\n";

        var table = StepTable.Parse(text, after: 2, maxRows: 10);

        Assert.Equal(Rows([2, 3, 0, 0, 30, 30], [2, 4, 0, 0, 40, 40], [2, 5, 0, 0, 50, 50]), table.Rows);
    }

    [Fact]
    public void ALineStillBeingWrittenWaitsForItsNewline()
    {
        var table = StepTable.Parse(Header + "1,1,0,0,1,1\n1,2,0,0,2", after: 0, maxRows: 10);

        Assert.Equal(1L, table.LastStep);
        Assert.Single(table.Rows);
        Assert.Same(StepTable.Empty, StepTable.Parse("round,step,epo", after: 0, maxRows: 10));
        Assert.Same(StepTable.Empty, StepTable.Parse("", after: 0, maxRows: 10));
    }

    [Fact]
    public void MalformedLinesAreSkippedAndUnreadableCellsAreNull()
    {
        var table = StepTable.Parse(Header + "1,1,0,0,1\n1,x,0,0,1,1\n1,2,0,0,1,1,9\n1,3,0,0,oops,1\n", after: 0, maxRows: 10);

        Assert.Equal(Rows([1, 3, 0, 0, null, 1]), table.Rows);
    }

    [Fact]
    public void ManyRowsAreThinnedEvenlyKeepingFirstAndLast()
    {
        var text = Header + string.Concat(Enumerable.Range(1, 1000).Select(s => $"1,{s},0,0,{s},0\n"));

        var table = StepTable.Parse(text, after: 0, maxRows: 100);

        Assert.Equal((100, 1000, true, 1000L), (table.Rows.Count, table.Matched, table.Downsampled, table.LastStep));
        var steps = table.Rows.Select(r => r[1]!.Value).ToList();
        Assert.Equal((1, 1000), (steps[0], steps[^1]));
        Assert.Equal(steps.Order(), steps);
        Assert.All(steps.Zip(steps.Skip(1)), p => Assert.InRange(p.Second - p.First, 10, 11));
    }

    [Fact]
    public void AHeaderWithoutAStepColumnIsAnErrorNamingIt()
    {
        var e = Assert.Throws<InvalidDataException>(() => StepTable.Parse("round,epoch\n1,0\n", after: 0, maxRows: 10));
        Assert.Contains("'round,epoch' has no 'step' column", e.Message);
    }
}
