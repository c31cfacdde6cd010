using System.Text.Json;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Contracts.Tests.Jobs;

public class JobSpecJsonTests
{
    [Fact]
    public void ADatasetPathWithSizeAndChannelsRoundTrips()
    {
        var spec = JobSpecJson.FromElement(JsonDocument.Parse("""{"dataset": "/data/pets", "imageSize": 64, "channels": 1}""").RootElement);

        Assert.Equal(("/data/pets", 64, 1), (spec.Dataset, spec.ImageSize, spec.Channels));
        var json = JobSpecJson.ToElement(spec);
        Assert.Equal(64, json.GetProperty("imageSize").GetInt32());
        Assert.Equal(1, json.GetProperty("channels").GetInt32());
    }

    [Fact]
    public void ASpecWrittenBeforeTheFieldsKeepsTheDataDefaults()
    {
        var spec = JobSpecJson.FromElement(JsonDocument.Parse("""{"dataset": "mnist", "datasetLimit": 256}""").RootElement);

        Assert.Equal((0, 0, 256), (spec.ImageSize, spec.Channels, spec.DatasetLimit));
    }
}
