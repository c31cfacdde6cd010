using System.CommandLine;
using System.Globalization;
using GenCluster.Contracts.Jobs;

namespace GenCluster.Silo.Cli;

/// <summary><c>gencluster status [id]</c>: all jobs as a table, or one job with its rounds, checkpoints and history.</summary>
public static class StatusCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Build()
    {
        var verb = new ApiVerb();
        var id = new Argument<string?>("id") { Description = "Job id (omit for all jobs)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("status", "Show all jobs, or one job in detail.") { id };
        verb.AddTo(command);
        command.SetAction((result, ct) => verb.RunAsync(result, async (client, output) =>
        {
            if (result.GetValue(id) is { } jobId)
            {
                var status = await client.GetJobAsync(jobId, ct);
                if (result.GetValue(verb.Json)) ApiVerb.WriteJson(output, status);
                else WriteJob(output, status);
                return;
            }
            var jobs = await client.ListJobsAsync(ct);
            if (result.GetValue(verb.Json))
            {
                ApiVerb.WriteJson(output, jobs);
                return;
            }
            var table = new Table("ID", "NAME", "STATE", "PRIO", "STEP", "ROUND", "WORKERS", "RESTARTS", "PREEMPTIONS");
            foreach (var j in jobs)
            {
                table.Add(j.Id, j.Spec.Name, j.State, j.Spec.Priority, $"{j.Progress?.Step ?? 0}/{j.Spec.Steps}", j.CurrentRound,
                    j.HasActiveRound ? j.Rounds[^1].Members.Count : 0, $"{j.Restarts}/{j.Spec.RestartBudget}",
                    $"{j.Preemptions}/{j.Spec.PreemptionBudget}");
            }
            table.Write(output);
        }));
        return command;
    }

    private static void WriteJob(TextWriter output, JobStatus j)
    {
        output.WriteLine($"job        {j.Id} ({j.Spec.Name})");
        output.WriteLine($"state      {j.State}{(j.Reason is null ? "" : $": {j.Reason}")}");
        output.WriteLine($"model      {j.Spec.Model.Kind} on {j.Spec.Dataset}, {j.Spec.MinWorkers}..{j.Spec.MaxWorkers} workers, priority {j.Spec.Priority}");
        var p = j.Progress;
        output.WriteLine(p is null
            ? $"progress   0/{j.Spec.Steps}"
            : $"progress   step {p.Step}/{j.Spec.Steps}, epoch {p.Epoch}, {p.ImagesPerSecond.ToString("F1", CultureInfo.InvariantCulture)} images/s" +
              (p.Metrics.Count == 0 ? "" : ", " + string.Join(", ", p.Metrics.Select(m => $"{m.Key} {m.Value.ToString("G4", CultureInfo.InvariantCulture)}"))));
        output.WriteLine($"checkpoint {(j.LatestCheckpoint is { } c ? $"step {c.Step} at {c.Path}" : "none")}");
        output.WriteLine($"budgets    restarts {j.Restarts}/{j.Spec.RestartBudget}, preemptions {j.Preemptions}/{j.Spec.PreemptionBudget}");
        output.WriteLine($"run dir    {j.RunDirectory}");
        output.WriteLine();
        var rounds = new Table("ROUND", "WORKERS", "BATCH", "ACCUM", "GLOBAL", "RESUME", "FORMED", "ENDED", "MEMBERS (rank=worker@host)");
        foreach (var r in j.Rounds)
        {
            rounds.Add(r.Number, r.Members.Count, r.PerWorkerBatch, r.GradientAccumulation, r.GlobalBatch, r.ResumeFrom?.Step.ToString(CultureInfo.InvariantCulture) ?? "fresh",
                r.FormedAt.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
                r.EndedAt?.ToString("HH:mm:ss", CultureInfo.InvariantCulture) ?? "-",
                string.Join(" ", r.Members.Select(m => $"{m.Rank}={m.WorkerId}@{m.Host}")));
        }
        rounds.Write(output);
        output.WriteLine();
        var history = new Table("TIME", "ROUND", "EVENT", "MESSAGE");
        foreach (var e in j.History) history.Add(e.At.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture), e.Round, e.Kind, e.Message);
        history.Write(output);
    }
}
