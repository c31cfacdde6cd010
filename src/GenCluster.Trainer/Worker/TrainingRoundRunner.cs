using GenCluster.Contracts.Jobs;
using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Checkpoints;
using GenCluster.Trainer.Distributed;
using GenCluster.Trainer.Evaluation;
using GenCluster.Trainer.Hosting;
using GenCluster.Trainer.Imaging;
using GenCluster.Trainer.Training;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace GenCluster.Trainer.Worker;

/// <summary>
/// Runs one round: joins the round's ring, resumes from the newest checkpoint that verifies, trains to the job's target
/// step and reports checkpoints (rank 0). Ring errors, numerical roll-backs and crashes become a failed outcome naming
/// what broke, so the job can form the next round.
/// </summary>
public sealed partial class TrainingRoundRunner(
    RingCollectivesFactory ring,
    DatasetCache datasets,
    IControlPlane controlPlane,
    IOptions<TrainingEngineOptions> engine,
    TrainerInstruments instruments,
    TimeProvider time,
    ILogger<TrainingRoundRunner> logger,
    CoreBinding cores) : IRoundRunner
{
    /// <summary>The metric curves (losses, penalties) rank 0 redraws beside every sample grid.</summary>
    public const string LossChartFile = "losses.png";

    /// <summary>
    /// The job's ring settings: its gradient encoding, whatever this process's <c>Ring:UseBf16</c> says, so every rank
    /// of the round agrees (a rank expecting another encoding would refuse the frames).
    /// </summary>
    public static Action<RingOptions> RingSettingsOf(JobSpec spec) => options => options.UseBf16 = spec.GradientTransfer == "bf16";

    /// <summary>Members of the round advertising this rank's address (they share its host's cores).</summary>
    internal static int RanksOnHost(Assignment assignment) => RingPeerAddress.SharingAddressWith(assignment.Peers, assignment.Rank);

    public async Task<RoundOutcome> RunAsync(Assignment assignment, RoundControl control, CancellationToken cancellationToken)
    {
        var key = RoundKey.Of(assignment);
        long step = 0;
        try
        {
            var dataset = await datasets.GetAsync(assignment.Spec, cancellationToken);
            await using var collectives = ring.Create(assignment, RingSettingsOf(assignment.Spec));
            var resume = ResolveResume(assignment);
            instruments.BeginRound(assignment.JobId, assignment.Round, assignment.Rank, System.Net.Dns.GetHostName());
            using var session = new TrainingSession(new SessionSetup
            {
                Spec = assignment.Spec,
                GradientAccumulation = assignment.GradientAccumulation,
                RunDirectory = assignment.RunDirectory,
                Collectives = collectives,
                Dataset = dataset,
                Engine = engine.Value,
                RanksOnHost = RanksOnHost(assignment),
                ResumeFrom = resume,
                Instruments = instruments,
                Time = time,
            });
            using var journal = assignment.Rank == 0 ? new StepJournal(assignment.RunDirectory, assignment.Round, session.Recipe.MetricNames) : null;
            var tensorBoard = assignment.Rank == 0 ? new TensorBoardLog(assignment.RunDirectory) : null;
            session.StepCompleted += progress =>
            {
                step = progress.Step;
                journal?.Append(progress);
                tensorBoard?.Step(progress);
                control.Progress = progress.ToTrainingProgress();
            };
            session.CheckpointWritten += checkpoint => ReportCheckpoint(key, checkpoint);
            session.SampleWritten += path =>
            {
                LogSample(path);
                if (tensorBoard?.Sample(path, session.Step) == false) LogTensorBoardImageSkipped(path);
                var (width, height, pixels) = LossChart.Render(StepJournal.ReadMetrics(assignment.RunDirectory));
                PngWriter.WriteRgb(Path.Combine(Path.GetDirectoryName(path)!, LossChartFile), width, height, pixels);
            };
            session.OptionsDiffer += lines => LogOptionsDiffer(string.Join("; ", lines));
            session.StepSkipped += (skipped, reason) => LogStepSkipped(skipped, reason);
            using var stopRegistration = control.StopRequested.Register(session.RequestCheckpointAndStop);

            var result = await session.RunAsync(assignment.Spec.Steps, cancellationToken);
            if (result.Outcome == SessionOutcome.Completed && assignment.Rank == 0 && assignment.Spec.Evaluate && result.LastCheckpoint is { } final)
                await EvaluateAsync(key, assignment, final, cancellationToken);
            return result.Outcome == SessionOutcome.Completed
                ? new RoundOutcome(RoundEnd.Completed, result.Step)
                : new RoundOutcome(RoundEnd.CheckpointedAndStopped, result.Step);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new RoundOutcome(RoundEnd.Cancelled, step);
        }
        catch (Exception ex)
        {
            var reason = $"rank {assignment.Rank} ({ex.GetType().Name}): {ex.Message}";
            LogRoundFailed(assignment.JobId, assignment.Round, reason);
            return new RoundOutcome(RoundEnd.Failed, step, reason);
        }
    }

    /// <summary>
    /// The newest checkpoint in the job's directory that verifies. It may be newer than the control plane's reference
    /// (the report was lost with a silo) or older (the referenced one is corrupt): either way no step is skipped.
    /// </summary>
    private CheckpointRef? ResolveResume(Assignment assignment)
    {
        var store = new CheckpointStore(Path.Combine(assignment.RunDirectory, "checkpoints"), Math.Max(1, assignment.Spec.KeepCheckpoints), time);
        var latest = store.LoadLatestGood(out var rejected);
        foreach (var bad in rejected) LogCheckpointRejected(bad.Directory, bad.Reason);
        if (latest is null && assignment.ResumeFrom is { } wanted)
            throw new CheckpointCorruptException(wanted.Path, "the control plane's resume checkpoint is missing and no older one verifies");
        return latest?.ToRef();
    }

    /// <summary>Scores the final model (rank 0, <c>JobSpec.Evaluate</c>); a failure is logged and does not fail the job.</summary>
    private async Task EvaluateAsync(RoundKey key, Assignment assignment, CheckpointRef final, CancellationToken cancellationToken)
    {
        if (EvaluationScope.SkipReason(assignment.Spec.Dataset) is { } skipped)
        {
            LogEvaluationSkipped(skipped);
            return;
        }
        try
        {
            var options = new SampleEvaluatorOptions
            {
                DataDirectory = engine.Value.DataDirectory,
                SharedDatasetDirectory = engine.Value.SharedDatasetDirectory,
            };
            using var log = new StringWriter();
            // The round's other ranks are done: their cores are free for the scoring (on one host, as locally).
            var threads = Math.Min(Environment.ProcessorCount, Math.Max(1, engine.Value.Threads) * assignment.WorldSize);
            using var everyCore = cores.Widen();
            var result = await Task.Run(() =>
            {
                torch.set_num_threads(threads);
                return FinalEvaluation.RunAsync(final.Path, assignment.RunDirectory, options, log, cancellationToken);
            }, cancellationToken);
            LogEvaluationLog(log.ToString().Trim());
            if (result is null) return;
            if (result.Samples is { } report)
            {
                LogEvaluated(report.Fid, report.FidFloor, report.FidRatio, report.ClassesPresent, report.LabelAccuracy ?? double.NaN);
                instruments.Evaluated(report.Fid, report.FidFloor, report.ClassesPresent, report.LabelAccuracy);
            }
            var figures = FinalEvaluation.Figures(result);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
                    await controlPlane.ReportEvaluationAsync(key, figures, deadline.Token);
                    return;
                }
                catch (Exception ex) when (attempt < 10 && ex is not OperationCanceledException { CancellationToken.IsCancellationRequested: true })
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogEvaluationFailed(ex.Message);
        }
    }

    private void ReportCheckpoint(RoundKey key, CheckpointRef checkpoint)
    {
        LogCheckpoint(checkpoint.Step, checkpoint.Path);
        _ = Task.Run(async () =>
        {
            // The silo may be restarting: keep trying for a while so the job's record has every checkpoint.
            var deadline = time.GetUtcNow() + ReportRetryWindow;
            while (true)
            {
                try
                {
                    using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
                    await controlPlane.ReportCheckpointAsync(key, checkpoint, attempt.Token);
                    return;
                }
                catch (Exception ex) when (time.GetUtcNow() < deadline)
                {
                    LogReportRetry(checkpoint.Step, ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(1), time);
                }
                catch (Exception ex)
                {
                    LogReportFailed(checkpoint.Step, ex.Message);
                    return;
                }
            }
        });
    }

    private static readonly TimeSpan ReportRetryWindow = TimeSpan.FromSeconds(60);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} round {Round} failed: {Reason}")]
    private partial void LogRoundFailed(string jobId, long round, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Directory} rejected: {Reason}")]
    private partial void LogCheckpointRejected(string directory, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Checkpoint at step {Step}: {Path}")]
    private partial void LogCheckpoint(long step, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not report the checkpoint of step {Step}: {Error} (the next round still finds it on disk)")]
    private partial void LogReportFailed(long step, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reporting the checkpoint of step {Step} failed ({Error}); retrying")]
    private partial void LogReportRetry(long step, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Evaluation of the final model: FID {Fid:F3} (floor {Floor:F3}, ratio {Ratio:F2}x), {Classes} classes present, label accuracy {Accuracy:P1}")]
    private partial void LogEvaluated(double fid, double floor, double ratio, int classes, double accuracy);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Lines}")]
    private partial void LogEvaluationLog(string lines);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evaluation of the final model: {Reason}")]
    private partial void LogEvaluationSkipped(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evaluation of the final model failed: {Error} (the job still succeeds)")]
    private partial void LogEvaluationFailed(string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sample grid: {Path}")]
    private partial void LogSample(string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resuming with options that differ from the checkpoint's: {Differences}")]
    private partial void LogOptionsDiffer(string differences);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TensorBoard: could not decode {Path}; the grid is not in the event file")]
    private partial void LogTensorBoardImageSkipped(string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Step {Step} skipped on every rank: {Reason}")]
    private partial void LogStepSkipped(long step, string reason);
}
