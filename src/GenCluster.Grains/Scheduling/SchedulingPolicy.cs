namespace GenCluster.Grains.Scheduling;

/// <summary>A job waiting for workers.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Priority">Higher goes first and may preempt lower.</param>
/// <param name="SubmittedAt">Earlier goes first among equal priorities.</param>
/// <param name="WorldSizes">Round sizes the job accepts (min..max, those that keep its global batch exact).</param>
/// <param name="PreferredWorkers">Workers to pick first when free (the previous round's survivors).</param>
public sealed record QueuedJob(
    string JobId, int Priority, DateTimeOffset SubmittedAt, IReadOnlyList<int> WorldSizes, IReadOnlyList<string> PreferredWorkers);

/// <summary>A job holding workers in a round.</summary>
public sealed record RunningJob(string JobId, int Priority, DateTimeOffset SubmittedAt, IReadOnlyList<string> Workers);

/// <summary>Start <paramref name="JobId"/> on <paramref name="Workers"/> (rank order).</summary>
public sealed record Placement(string JobId, IReadOnlyList<string> Workers);

/// <summary>Take <paramref name="Workers"/> from running job <paramref name="JobId"/> so that <paramref name="ForJobId"/> can run.</summary>
public sealed record Preemption(string JobId, IReadOnlyList<string> Workers, string ForJobId);

/// <summary>What one scheduling pass decided: first preempt these running jobs, then make these placements.</summary>
public sealed record SchedulingDecision(IReadOnlyList<Preemption> Preemptions, IReadOnlyList<Placement> Placements)
{
    /// <summary>True when nothing changes.</summary>
    public bool IsEmpty => Preemptions.Count == 0 && Placements.Count == 0;
}

/// <summary>
/// Gang scheduling with priorities: the queue is ordered by priority (high first) then submit time; each job gets the
/// largest accepted world size that the free workers allow. A job that cannot be placed may preempt running jobs of
/// strictly lower priority (lowest priority first, newest first) when that frees enough workers; otherwise later,
/// smaller jobs may still use the free workers.
/// </summary>
public static class SchedulingPolicy
{
    /// <summary>Queue order: priority descending, then submit time, then id.</summary>
    public static IEnumerable<QueuedJob> Order(IEnumerable<QueuedJob> queue) =>
        queue.OrderByDescending(j => j.Priority).ThenBy(j => j.SubmittedAt).ThenBy(j => j.JobId, StringComparer.Ordinal);

    /// <summary>One pass over the queue with the given free workers (in preference order).</summary>
    public static SchedulingDecision Decide(
        IReadOnlyList<QueuedJob> queue, IReadOnlyList<RunningJob> running, IReadOnlyList<string> freeWorkers)
    {
        var free = freeWorkers.ToList();
        var holders = running.ToList();
        var preemptions = new List<Preemption>();
        var placements = new List<Placement>();

        foreach (var job in Order(queue))
        {
            if (job.WorldSizes.Count == 0) continue;
            var size = LargestFitting(job.WorldSizes, free.Count);
            if (size == 0)
            {
                var victims = ChooseVictims(job, holders, job.WorldSizes.Min() - free.Count);
                if (victims is null) continue;
                foreach (var victim in victims)
                {
                    preemptions.Add(new Preemption(victim.JobId, victim.Workers, job.JobId));
                    holders.Remove(victim);
                    free.AddRange(victim.Workers);
                }
                size = LargestFitting(job.WorldSizes, free.Count);
            }

            var chosen = job.PreferredWorkers.Where(free.Contains).Take(size).ToList();
            chosen.AddRange(free.Where(w => !chosen.Contains(w)).Take(size - chosen.Count));
            foreach (var w in chosen) free.Remove(w);
            placements.Add(new Placement(job.JobId, chosen));
        }
        return new SchedulingDecision(preemptions, placements);
    }

    private static int LargestFitting(IReadOnlyList<int> sizes, int available)
    {
        var best = 0;
        foreach (var s in sizes)
            if (s <= available && s > best) best = s;
        return best;
    }

    private static List<RunningJob>? ChooseVictims(QueuedJob job, IReadOnlyList<RunningJob> holders, int needed)
    {
        var victims = new List<RunningJob>();
        var freed = 0;
        foreach (var candidate in holders.Where(h => h.Priority < job.Priority)
                     .OrderBy(h => h.Priority).ThenByDescending(h => h.SubmittedAt).ThenBy(h => h.JobId, StringComparer.Ordinal))
        {
            if (freed >= needed) break;
            victims.Add(candidate);
            freed += candidate.Workers.Count;
        }
        return freed >= needed ? victims : null;
    }
}
