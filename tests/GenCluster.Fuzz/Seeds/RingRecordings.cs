namespace GenCluster.Fuzz.Seeds;

/// <summary>The real calls the ring-frame and hpack seeds are cut from.</summary>
/// <param name="Stream">Two chunks (float32, bfloat16), then the end of the stream.</param>
/// <param name="Abort">A chunk, then an abort.</param>
/// <param name="Empty">No message: the stream opens and ends.</param>
/// <param name="OtherMethod">A call to a method the ring port does not serve, refused with a status and a message.</param>
internal sealed record RingRecordings(
    RingCallRecorder.Recording Stream, RingCallRecorder.Recording Abort, RingCallRecorder.Recording Empty, RingCallRecorder.Recording OtherMethod)
{
    public static async Task<RingRecordings> RecordAsync() => new(
        await RingCallRecorder.RecordAsync(Trainer.Distributed.RingServer.Method, [RingSeeds.Fp32Chunk, RingSeeds.Bf16Chunk]).ConfigureAwait(false),
        await RingCallRecorder.RecordAsync(Trainer.Distributed.RingServer.Method, [RingSeeds.Fp32Chunk, RingSeeds.Abort]).ConfigureAwait(false),
        await RingCallRecorder.RecordAsync(Trainer.Distributed.RingServer.Method, []).ConfigureAwait(false),
        await RingCallRecorder.RecordAsync("/gencluster.ring.RingService/Other", []).ConfigureAwait(false));
}
