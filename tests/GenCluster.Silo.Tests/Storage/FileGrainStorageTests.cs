using GenCluster.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace GenCluster.Silo.Tests.Storage;

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)] public int Value { get; set; }
    [Id(1)] public List<string> Log { get; set; } = [];
}

public sealed class FileGrainStorageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gencluster-storage-").FullName;
    private readonly ServiceProvider _services = new ServiceCollection().AddSerializer().BuildServiceProvider();

    private FileGrainStorage NewStorage() => new(_dir,
        new OrleansGrainStorageSerializer(_services.GetRequiredService<Serializer>()),
        _services.GetRequiredService<IActivatorProvider>());

    private static readonly GrainId Grain = GrainId.Create("job", "20260101-000000-abc/def");

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task StateSurvivesANewStorageInstanceAndLeavesNoTempFiles()
    {
        var state = new GrainState<CounterState>(new CounterState());
        await NewStorage().ReadStateAsync("job", Grain, state);
        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);

        state.State!.Value = 42;
        state.State!.Log.Add("submitted");
        await NewStorage().WriteStateAsync("job", Grain, state);
        Assert.NotNull(state.ETag);

        var reread = new GrainState<CounterState>(new CounterState());
        await NewStorage().ReadStateAsync("job", Grain, reread);
        Assert.True(reread.RecordExists);
        Assert.Equal(42, reread.State!.Value);
        Assert.Equal(["submitted"], reread.State!.Log);
        Assert.Equal(state.ETag, reread.ETag);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories));
        Assert.Single(Directory.GetFiles(_dir, "*.state", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task AStaleETagIsRefused()
    {
        var storage = NewStorage();
        var first = new GrainState<CounterState>(new CounterState { Value = 1 });
        await storage.WriteStateAsync("job", Grain, first);
        var stale = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync("job", Grain, stale);

        first.State!.Value = 2;
        await storage.WriteStateAsync("job", Grain, first);
        stale.State!.Value = 3;
        var e = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("job", Grain, stale));
        Assert.Contains(storage.PathFor("job", Grain), e.Message);

        var brandNew = new GrainState<CounterState>(new CounterState());
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("job", Grain, brandNew));
    }

    [Fact]
    public async Task ClearDeletesTheRecord()
    {
        var storage = NewStorage();
        var state = new GrainState<CounterState>(new CounterState { Value = 5 });
        await storage.WriteStateAsync("job", Grain, state);
        await storage.ClearStateAsync("job", Grain, state);
        Assert.False(state.RecordExists);
        var reread = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync("job", Grain, reread);
        Assert.False(reread.RecordExists);
        Assert.Equal(0, reread.State!.Value);
    }

    [Fact]
    public async Task ACorruptFileIsReportedWithItsPath()
    {
        var storage = NewStorage();
        var state = new GrainState<CounterState>(new CounterState { Value = 5 });
        await storage.WriteStateAsync("job", Grain, state);
        await File.WriteAllBytesAsync(storage.PathFor("job", Grain), [0xff, 0x00, 0x13]);
        var e = await Assert.ThrowsAsync<IOException>(() => storage.ReadStateAsync("job", Grain, new GrainState<CounterState>(new CounterState())));
        Assert.Contains(storage.PathFor("job", Grain), e.Message);
    }
}
