using GenCluster.Fuzz;
using GenCluster.Fuzz.Targets;

namespace GenCluster.Trainer.Tests.Distributed;

/// <summary>
/// The committed fuzz corpus of the ring's parsers (tests/GenCluster.Fuzz/corpus), replayed through the fuzz targets
/// themselves, so the corpus stays honest without afl-fuzz: inputs the encoders made (<c>valid-*</c>) are still accepted,
/// and no input, among them those that once crashed a parser (<c>crash-*</c>), throws anything but a documented error.
/// </summary>
public class FuzzCorpusTests
{
    [Fact]
    public void RingFrameCorpusIsAcceptedOrRefusedClearly()
    {
        using var target = new RingFrameTarget();
        AssertClean(FuzzCorpus.Replay(RingFrameTarget.Name, target));
    }

    [Fact]
    public void HpackCorpusIsAcceptedOrRefusedClearly() => AssertClean(FuzzCorpus.Replay(HpackTarget.Name, new HpackTarget()));

    [Fact]
    public void RingMessageCorpusIsAcceptedOrRefusedClearly() => AssertClean(FuzzCorpus.Replay(RingMessageTarget.Name, new RingMessageTarget()));

    private static void AssertClean(IReadOnlyList<string> problems) => Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
}
