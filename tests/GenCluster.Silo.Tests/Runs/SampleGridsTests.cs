using GenCluster.Silo.Runs;

namespace GenCluster.Silo.Tests.Runs;

public class SampleGridsTests
{
    [Fact]
    public void GridsAreOrderedByTheStepInTheirNameNotByTheName()
    {
        var grids = SampleGrids.Select(["/r/samples/step-999999.png", "/r/samples/step-1000000.png", "/r/samples/step-000500.png"]);

        Assert.Equal([500L, 999_999L, 1_000_000L], grids.Select(g => g.Step));
        Assert.Equal("/r/samples/step-1000000.png", grids[^1].Path);
    }

    [Fact]
    public void OtherFilesAreLeftOut()
    {
        var grids = SampleGrids.Select(["losses.png", "step-000010.png.tmp", "step-.png", "step-12.PNG", "step-0010.png", "xstep-000020.png"]);

        Assert.Equal([10L], grids.Select(g => g.Step));
    }

    [Fact]
    public void ARunWithoutSamplesHasNone()
    {
        var run = Directory.CreateTempSubdirectory("gencluster-grids-").FullName;
        try
        {
            Assert.Empty(SampleGrids.InRun(run));
            Directory.CreateDirectory(Path.Combine(run, "samples"));
            File.WriteAllBytes(Path.Combine(run, "samples", "step-000020.png"), [1]);
            File.WriteAllBytes(Path.Combine(run, "samples", "step-000010.png"), [1]);
            Assert.Equal([10L, 20L], SampleGrids.InRun(run).Select(g => g.Step));
        }
        finally
        {
            Directory.Delete(run, recursive: true);
        }
    }
}
