using Microsoft.Extensions.Logging;

namespace GenCluster.Trainer.Training;

internal static partial class TrainingLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Round started: rank {Rank} of {WorldSize}, models verified and synchronised from rank 0, step {Step}")]
    public static partial void RoundStarted(ILogger logger, int rank, int worldSize, long step);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Resumed from checkpoint {Directory} at step {Step} (epoch {Epoch}, sampler batch {Batch})")]
    public static partial void Resumed(ILogger logger, string directory, long step, int epoch, long batch);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Options differ from checkpoint {Directory}: {Differences}")]
    public static partial void OptionsDiffer(ILogger logger, string directory, string differences);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Step {Step} skipped ({Consecutive} in a row): {Reason}")]
    public static partial void StepSkipped(ILogger logger, long step, int consecutive, string reason);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Checkpoint for step {Step} written to {Directory} in {Seconds:F2} s")]
    public static partial void CheckpointWritten(ILogger logger, long step, string directory, double seconds);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Stopping after step {Step} on request, checkpoint written")]
    public static partial void Stopped(ILogger logger, long step);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "Stage {Stage} finished at step {Step}: checkpoint and sample follow, the next stage starts")]
    public static partial void StageFinished(ILogger logger, string stage, long step);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Information, Message = "Resuming in stage {Stage} (steps {First}..{End})")]
    public static partial void ResumedInStage(ILogger logger, string stage, long first, long end);
}
