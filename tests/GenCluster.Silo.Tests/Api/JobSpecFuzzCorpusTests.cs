using GenCluster.Fuzz;
using GenCluster.Fuzz.Targets;

namespace GenCluster.Silo.Tests.Api;

/// <summary>
/// The committed fuzz corpus of the job-spec parser (tests/GenCluster.Fuzz/corpus/job-spec), replayed through its
/// fuzz target: specs the API's encoder made (<c>valid-*</c>) are still accepted, and no input, among them those that
/// once crashed the parser (<c>crash-*</c>), throws anything but a <c>JsonException</c> or fails validation.
/// </summary>
public class JobSpecFuzzCorpusTests
{
    [Fact]
    public void JobSpecCorpusIsAcceptedOrRefusedClearly()
    {
        var problems = FuzzCorpus.Replay(JobSpecTarget.Name, new JobSpecTarget());

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }
}
