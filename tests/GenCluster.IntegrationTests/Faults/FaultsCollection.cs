namespace GenCluster.IntegrationTests.Faults;

/// <summary>The fault tests run one at a time: each starts a silo and several trainers, and they time detection.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultsCollection
{
    public const string Name = "Faults";
}
