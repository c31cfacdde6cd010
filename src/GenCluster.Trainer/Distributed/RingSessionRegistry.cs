using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// The ring sessions this trainer's ring server delivers to: at most one per job, the current round's. A newer
/// round replaces the older one; streams for an older round are rejected.
/// </summary>
public sealed class RingSessionRegistry(ILogger<RingSessionRegistry> logger)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RingCollectives> _sessions = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Makes <paramref name="session"/> the job's current round, replacing any older round's session.</summary>
    public void Register(RingCollectives session)
    {
        ArgumentNullException.ThrowIfNull(session);
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (_sessions.TryGetValue(session.JobId, out var existing) && existing.Round > session.Round)
            {
                throw new InvalidOperationException(
                    $"Ring session for job {session.JobId}: round {session.Round} is older than the registered round {existing.Round}.");
            }

            _sessions[session.JobId] = session;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        RingLog.Registered(logger, session.JobId, session.Round, session.Rank, session.WorldSize);
        changed.TrySetResult();
    }

    /// <summary>Removes <paramref name="session"/> if it is still the current one.</summary>
    public void Unregister(RingCollectives session)
    {
        lock (_gate)
        {
            if (_sessions.TryGetValue(session.JobId, out var existing) && ReferenceEquals(existing, session))
            {
                _sessions.Remove(session.JobId);
            }
        }
    }

    /// <summary>The job's current session, if any.</summary>
    public RingCollectives? Find(string jobId)
    {
        lock (_gate)
        {
            return _sessions.GetValueOrDefault(jobId);
        }
    }

    /// <summary>
    /// Waits until the job whose handshake key id is <paramref name="keyId"/> (<see cref="RingHandshake.KeyIdOf"/>)
    /// has a session whose round is at least <paramref name="round"/> (a peer may connect before this trainer has
    /// learned of the round), up to <paramref name="wait"/>. Returns the job's session by then (possibly of an older
    /// round), or null when it has none.
    /// </summary>
    internal async Task<RingCollectives?> WaitForSessionAsync(byte[] keyId, long round, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(wait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (WithKey(keyId) is { } session && session.Round >= round)
                {
                    return session;
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                lock (_gate)
                {
                    return WithKey(keyId);
                }
            }
        }
    }

    /// <summary>The session of the job with this key id; call under the lock. A trainer hosts a session or two, so a scan is cheap.</summary>
    private RingCollectives? WithKey(byte[] keyId)
    {
        foreach (var session in _sessions.Values)
        {
            if (session.KeyId.AsSpan().SequenceEqual(keyId))
            {
                return session;
            }
        }

        return null;
    }
}
