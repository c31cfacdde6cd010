namespace GenCluster.Silo.Local;

/// <summary>Steps per second over a sliding window of (time, step) observations, for the ETA.</summary>
public sealed class StepRate(TimeSpan window)
{
    private readonly Queue<(TimeSpan At, long Step)> _samples = new();

    /// <summary>Adds an observation; older ones outside the window are dropped.</summary>
    public void Observe(TimeSpan at, long step)
    {
        if (_samples.Count > 0 && step < _samples.Last().Step) _samples.Clear();
        _samples.Enqueue((at, step));
        while (_samples.Count > 2 && at - _samples.Peek().At > window) _samples.Dequeue();
    }

    /// <summary>Steps per second, or null until two observations at least 0.5 s apart show progress.</summary>
    public double? StepsPerSecond
    {
        get
        {
            if (_samples.Count < 2) return null;
            var first = _samples.Peek();
            var last = _samples.Last();
            var seconds = (last.At - first.At).TotalSeconds;
            return seconds < 0.5 || last.Step <= first.Step ? null : (last.Step - first.Step) / seconds;
        }
    }
}
