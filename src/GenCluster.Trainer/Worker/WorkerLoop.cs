using GenCluster.Contracts.Workers;
using GenCluster.Trainer.Hosting;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Worker;

/// <summary>
/// Registers with the control plane, heartbeats on its lease and runs whatever round the replies ask for.
/// The silo being away does not stop a running round: heartbeats fail and are retried while training goes on.
/// On shutdown (SIGTERM) a running round checkpoints at the end of its step and the job is told this rank left.
/// </summary>
public sealed partial class WorkerLoop : BackgroundService
{
    private readonly IControlPlane _controlPlane;
    private readonly IRoundRunner _runner;
    private readonly WorkerInfo _worker;
    private readonly TrainerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WorkerLoop> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private Assignment? _running;
    private RoundKey? _finished;
    private RoundControl? _control;
    private CancellationTokenSource? _roundCancellation;
    private Task<RoundOutcome>? _roundTask;
    private volatile bool _leaving;
    private PendingReport? _pendingReport;

    // The heartbeat loop and StopAsync both send the pending report; one at a time, or a report goes out twice.
    private readonly SemaphoreSlim _reportGate = new(1, 1);

    /// <summary>A round-end report the control plane has not acknowledged yet; retried every heartbeat until it has.</summary>
    private sealed record PendingReport(string What, Func<CancellationToken, Task> Send);

    public WorkerLoop(IControlPlane controlPlane, IRoundRunner runner, WorkerInfo worker, IOptions<TrainerOptions> options,
        TimeProvider time, ILogger<WorkerLoop> logger)
    {
        _controlPlane = controlPlane;
        _runner = runner;
        _worker = worker;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The round running now, if any (for health output and tests).</summary>
    public RoundKey? RunningRound => _running is null ? null : RoundKey.Of(_running);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromSeconds(_options.HeartbeatSeconds);
        if (Hosting.OneDnnIsaCap.Applied is { } cap) LogOneDnnCapped(cap, Hosting.OneDnnIsaCap.Variable);
        if (Hosting.MklReproducibility.Applied is { } mode) LogMklReproducible(mode, Hosting.MklReproducibility.Variable);
        HeartbeatReply? reply = null;
        while (reply is null && !stoppingToken.IsCancellationRequested)
        {
            try
            {
                reply = await _controlPlane.RegisterAsync(_worker, stoppingToken);
                LogRegistered(_worker.WorkerId, _worker.RingEndpoint, reply.LeaseSeconds);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogControlPlaneUnreachable("register", ex.Message);
                await Task.Delay(period, _time, stoppingToken);
            }
        }

        using var timer = new PeriodicTimer(period, _time);
        do
        {
            if (reply is not null) await ApplyAsync(reply);
            reply = null;
            if (!await timer.WaitForNextTickAsync(stoppingToken)) break;
            await CollectFinishedRoundAsync(stoppingToken);
            await SendPendingReportAsync(stoppingToken);
            try
            {
                // A silo that is away must not stall the loop for Orleans' response timeout: give up after a few periods.
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                deadline.CancelAfter(HeartbeatDeadline);
                reply = await _controlPlane.HeartbeatAsync(CurrentHeartbeat(), deadline.Token);
                if (reply.MustRegister)
                {
                    LogReRegistering(_worker.WorkerId);
                    reply = await _controlPlane.RegisterAsync(_worker, stoppingToken);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogControlPlaneUnreachable("heartbeat", ex.Message);
            }
        }
        while (!stoppingToken.IsCancellationRequested);
    }

    private TimeSpan HeartbeatDeadline => TimeSpan.FromSeconds(Math.Max(2, 4 * _options.HeartbeatSeconds));

    /// <summary>
    /// Shutdown began (SIGTERM): take no new round and ask the running one to checkpoint at the end of its step.
    /// <see cref="StopAsync"/> then waits for it and tells the job this rank left.
    /// </summary>
    public void BeginLeaving()
    {
        _leaving = true;
        _control?.RequestCheckpointAndStop();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _leaving = true;
        Task<RoundOutcome>? task;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            task = _roundTask;
            _control?.RequestCheckpointAndStop();
        }
        finally
        {
            _gate.Release();
        }

        if (task is not null)
        {
            LogLeaving(_running?.JobId ?? "", _options.GraceSeconds);
            var grace = TimeSpan.FromSeconds(_options.GraceSeconds);
            try
            {
                await task.WaitAsync(grace, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
                _roundCancellation?.Cancel();
            }
            using var reportDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
            try
            {
                await CollectFinishedRoundAsync(reportDeadline.Token);
                while (_pendingReport is not null && !reportDeadline.IsCancellationRequested)
                {
                    if (!await SendPendingReportAsync(reportDeadline.Token))
                        await Task.Delay(TimeSpan.FromMilliseconds(250), _time, reportDeadline.Token);
                }
            }
            catch (OperationCanceledException) when (reportDeadline.IsCancellationRequested)
            {
                LogReportAbandoned(_pendingReport?.What ?? "round end");
            }
        }
        await base.StopAsync(cancellationToken);
    }

    private Heartbeat CurrentHeartbeat()
    {
        var running = _running;
        var activity = _leaving ? WorkerActivity.Leaving : running is null ? WorkerActivity.Idle : WorkerActivity.Training;
        return new Heartbeat(_worker.WorkerId, activity, running?.JobId, running?.Round ?? 0, _control?.Progress);
    }

    private async Task ApplyAsync(HeartbeatReply reply)
    {
        await _gate.WaitAsync();
        try
        {
            if (_leaving) return;
            var running = _running is null ? (RoundKey?)null : RoundKey.Of(_running);
            switch (AssignmentDecision.Decide(running, _finished, reply.Assignment))
            {
                case AssignmentAction.Start:
                    StartRound(reply.Assignment!);
                    break;
                case AssignmentAction.Stop:
                    await StopRoundAsync("the control plane no longer assigns it");
                    break;
                case AssignmentAction.Replace:
                    await StopRoundAsync($"superseded by {RoundKey.Of(reply.Assignment!)}");
                    StartRound(reply.Assignment!);
                    break;
            }
            if (reply.CheckpointNow) _control?.RequestCheckpointAndStop();
        }
        finally
        {
            _gate.Release();
        }
    }

    private void StartRound(Assignment assignment)
    {
        LogStarting(assignment.JobId, assignment.Round, assignment.Rank, assignment.WorldSize);
        _running = assignment;
        _control?.Dispose();
        _control = new RoundControl();
        _roundCancellation = new CancellationTokenSource();
        var control = _control;
        var token = _roundCancellation.Token;
        _roundTask = Task.Run(() => _runner.RunAsync(assignment, control, token), CancellationToken.None);
    }

    private async Task StopRoundAsync(string reason)
    {
        if (_roundTask is null || _running is null) return;
        LogStopping(_running.JobId, _running.Round, reason);
        await _roundCancellation!.CancelAsync();
        try
        {
            await _roundTask;
        }
        catch (Exception ex)
        {
            LogRoundCrashed(_running.JobId, _running.Round, ex.Message);
        }
        ClearRound();
    }

    private void ClearRound()
    {
        if (_running is not null) _finished = RoundKey.Of(_running);
        _roundCancellation?.Dispose();
        _running = null;
        _roundTask = null;
        _roundCancellation = null;
    }

    private async Task CollectFinishedRoundAsync(CancellationToken cancellationToken)
    {
        Assignment assignment;
        RoundOutcome outcome;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_roundTask is not { IsCompleted: true } || _running is null) return;
            assignment = _running;
            try
            {
                outcome = await _roundTask;
            }
            catch (Exception ex)
            {
                outcome = new RoundOutcome(RoundEnd.Failed, _control?.Progress?.Step ?? 0, $"rank {assignment.Rank} crashed: {ex.Message}");
            }
            ClearRound();
        }
        finally
        {
            _gate.Release();
        }

        var key = RoundKey.Of(assignment);
        LogRoundEnded(assignment.JobId, assignment.Round, assignment.Rank, outcome.End.ToString(), outcome.Step, outcome.Reason ?? "");
        _pendingReport = outcome.End switch
        {
            RoundEnd.Completed => new PendingReport($"completion of {key} at step {outcome.Step}",
                ct => _controlPlane.ReportCompletedAsync(key, assignment.Rank, outcome.Step, ct)),
            RoundEnd.Failed => new PendingReport($"failure of {key}",
                ct => _controlPlane.ReportRoundFailureAsync(key, assignment.Rank, outcome.Reason ?? "unknown failure", ct)),
            RoundEnd.CheckpointedAndStopped when _leaving => new PendingReport($"leaving {key} at step {outcome.Step}",
                ct => _controlPlane.ReportLeavingAsync(key, assignment.Rank, outcome.Step, ct)),
            _ => _pendingReport,
        };
        await SendPendingReportAsync(cancellationToken);
    }

    /// <summary>Sends the pending round-end report; true when there is none left. A silo that is away keeps it for the next try.</summary>
    private async Task<bool> SendPendingReportAsync(CancellationToken cancellationToken)
    {
        await _reportGate.WaitAsync(cancellationToken);
        try
        {
            if (_pendingReport is not { } report) return true;
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(HeartbeatDeadline);
                await report.Send(deadline.Token);
                if (ReferenceEquals(_pendingReport, report)) _pendingReport = null;
                return true;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogControlPlaneUnreachable($"report of the {report.What}", ex.Message);
                return false;
            }
        }
        finally
        {
            _reportGate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered as {WorkerId} (ring {RingEndpoint}); lease {LeaseSeconds} s")]
    private partial void LogRegistered(string workerId, string ringEndpoint, double leaseSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "oneDNN capped at {Cap}: its wider vector kernels gave non-finite results on this CPU (AMD family 26); set {Variable} to choose another")]
    private partial void LogOneDnnCapped(string cap, string variable);

    [LoggerMessage(Level = LogLevel.Information, Message = "MKL in reproducible mode {Mode} (AVX-512 CPU: otherwise its sums depend on memory alignment); set {Variable} to choose another")]
    private partial void LogMklReproducible(string mode, string variable);

    [LoggerMessage(Level = LogLevel.Information, Message = "The registry does not know {WorkerId}: registering again")]
    private partial void LogReRegistering(string workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Control plane unreachable during {Operation}: {Error}; retrying")]
    private partial void LogControlPlaneUnreachable(string operation, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Starting job {JobId} round {Round} as rank {Rank} of {WorldSize}")]
    private partial void LogStarting(string jobId, long round, int rank, int worldSize);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping job {JobId} round {Round}: {Reason}")]
    private partial void LogStopping(string jobId, long round, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} round {Round} crashed while stopping: {Error}")]
    private partial void LogRoundCrashed(string jobId, long round, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} round {Round} rank {Rank} ended: {End} at step {Step} {Reason}")]
    private partial void LogRoundEnded(string jobId, long round, int rank, string end, long step, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gave up reporting the {What}: the control plane did not answer before the exit deadline")]
    private partial void LogReportAbandoned(string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leaving: job {JobId} checkpoints at the end of its step (grace {GraceSeconds} s)")]
    private partial void LogLeaving(string jobId, double graceSeconds);
}
