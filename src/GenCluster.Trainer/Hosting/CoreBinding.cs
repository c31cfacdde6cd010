using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Training;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Hosting;

/// <summary>
/// This trainer's cores (<c>Trainer:CpuSlot</c>): bound at start to its block of the host's cores, widened to all of
/// them while it alone works (the end-of-job evaluation, when the round's other ranks are done) and bound again after.
/// </summary>
public sealed partial class CoreBinding
{
    private readonly ILogger<CoreBinding> _logger;
    private readonly object _gate = new();

    /// <summary>Reads the slot; unbound where none is set or the platform cannot bind.</summary>
    public CoreBinding(IOptions<TrainingEngineOptions> engine, ILogger<CoreBinding> logger)
    {
        _logger = logger;
        if (string.IsNullOrEmpty(engine.Value.CpuSlot)) return;
        if (!CpuAffinity.Supported)
        {
            LogUnsupported(engine.Value.CpuSlot);
            return;
        }
        var (slot, slots) = CoreShare.ParseSlot(engine.Value.CpuSlot, "Trainer:CpuSlot");
        All = CpuAffinity.Allowed();
        Own = CoreShare.Of(All, slot, slots);
        Slot = engine.Value.CpuSlot;
    }

    /// <summary>Every core the process could use at start; null when unbound.</summary>
    public IReadOnlyList<int>? All { get; }

    /// <summary>This trainer's block; null when unbound.</summary>
    public IReadOnlyList<int>? Own { get; }

    private string? Slot { get; }

    /// <summary>Binds every thread to this trainer's block (nothing when unbound).</summary>
    public void Apply()
    {
        if (Own is null) return;
        lock (_gate) BindAfterLibtorchLoads(Own);
        LogBound(string.Join(',', Own), Slot!, string.Join(',', All!));
    }

    /// <summary>
    /// Binds every thread to <paramref name="cores"/> once libtorch and its OpenMP runtime are loaded. libgomp counts the
    /// cores it may use once, when it loads; loaded into a process already bound to one core, it would treat a later
    /// team of two threads on two cores as oversubscribed and put its threads to sleep at every barrier instead of
    /// spinning, slowing the widened evaluation (and bench overhead's one trainer) for no reason.
    /// </summary>
    public static void BindAfterLibtorchLoads(IReadOnlyList<int> cores)
    {
        _ = TorchSharp.torch.get_num_threads();
        CpuAffinity.BindProcess(cores);
    }

    /// <summary>Every core until the returned scope ends, then this trainer's block again (nothing when unbound).</summary>
    public IDisposable Widen() => Own is null ? NoScope.Instance : Widen(All!, Own, _gate);

    /// <summary>
    /// Binds every thread to <paramref name="all"/> until the returned scope ends, then to <paramref name="own"/> again;
    /// both under <paramref name="gate"/>, so that concurrent binders do not interleave.
    /// </summary>
    internal static IDisposable Widen(IReadOnlyList<int> all, IReadOnlyList<int> own, object gate)
    {
        lock (gate) CpuAffinity.BindProcess(all);
        return new Rebind(own, gate);
    }

    private sealed class Rebind(IReadOnlyList<int> own, object gate) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 1) return;
            lock (gate) CpuAffinity.BindProcess(own);
        }
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();

        public void Dispose()
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Bound to cores {Cores} (slot {Slot} of the host's cores {All}); the end-of-job evaluation uses them all")]
    private partial void LogBound(string cores, string slot, string all);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trainer:CpuSlot {Slot} ignored: binding threads to cores needs Linux")]
    private partial void LogUnsupported(string slot);
}
