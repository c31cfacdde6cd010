using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Worker;

namespace GenCluster.Trainer.Tests.Worker;

public class RanksOnHostTests
{
    [Fact]
    public void RanksAdvertisingTheSameAddressShareAHost()
    {
        string[] peers =
        [
            "http://10.77.0.11:7001?uds=/tmp/gencluster-0/ring-7001-1.sock", "http://10.77.0.11:7002",
            "http://10.77.0.12:7001", "http://10.77.0.11:7003",
        ];
        Assignment For(int rank) => new("job", 1, rank, peers, "secret", new JobSpec(), 1, null, "/runs/job");

        Assert.Equal(3, TrainingRoundRunner.RanksOnHost(For(0)));
        Assert.Equal(1, TrainingRoundRunner.RanksOnHost(For(2)));
        Assert.Equal(3, TrainingRoundRunner.RanksOnHost(For(3)));
    }
}
