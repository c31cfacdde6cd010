namespace GenCluster.Contracts.Jobs;

/// <summary>One job, keyed by its id. Trainers call the <see cref="IJobTrainerReports"/> methods on it.</summary>
public interface IJobGrain : IGrainWithStringKey, IJobTrainerReports
{
}
