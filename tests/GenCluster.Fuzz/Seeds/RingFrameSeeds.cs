using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Fuzz.Seeds;

/// <summary>
/// Seeds of <c>ring-frame</c>: real calls as the ring's client sends them (recorded by <see cref="RingCallRecorder"/>),
/// and the same bytes rearranged into what the client never sends but a peer may: split and padded frames,
/// resets, a second stream, a cut.
/// </summary>
internal static class RingFrameSeeds
{
    private const int StreamId = 1;

    public static IEnumerable<(string Name, byte[] Bytes)> Make(RingRecordings recordings)
    {
        var stream = recordings.Stream.FromClient;
        yield return ("valid-stream", stream);
        yield return ("valid-abort", recordings.Abort.FromClient);
        yield return ("valid-empty-call", recordings.Empty.FromClient);
        yield return ("edge-other-method", recordings.OtherMethod.FromClient);
        yield return ("edge-cut", stream[..(stream.Length * 2 / 3)]);
        yield return ("edge-split-padded", SplitAndPad(stream));
        yield return ("edge-reset", ResetInsideMessage(stream));
        yield return ("edge-second-stream", SecondStream(stream));
    }

    /// <summary>HEADERS split over CONTINUATION with padding and priority; each DATA frame cut at an odd byte into two padded ones; a PING and SETTINGS between.</summary>
    private static byte[] SplitAndPad(byte[] stream)
    {
        var output = new List<byte>(Http2FrameHeader.ClientPreface.ToArray());
        foreach (var (header, payload) in RingSeeds.Frames(stream))
        {
            if (header.Type == Http2FrameType.Headers)
            {
                var half = payload.Length / 2;
                Http2Frames.Add(output, Http2FrameType.Headers, Http2Flags.Padded | Http2Flags.Priority, header.StreamId,
                    [2, 0, 0, 0, 0, 15, .. payload[..half], 0, 0]);
                Http2Frames.Add(output, Http2FrameType.Continuation, Http2Flags.EndHeaders, header.StreamId, payload[half..]);
                Http2Frames.Add(output, Http2FrameType.Ping, Http2Flags.None, 0, [1, 2, 3, 4, 5, 6, 7, 8]);
                Http2Frames.Add(output, Http2FrameType.Settings, Http2Flags.None, 0, Http2Frames.Settings((Http2Setting.MaxFrameSize, 16_384)));
            }
            else if (header.Type == Http2FrameType.Data && payload.Length > 2)
            {
                var cut = (payload.Length / 2) | 1;
                Http2Frames.Add(output, Http2FrameType.Data, Http2Flags.Padded, header.StreamId, [3, .. payload[..cut], 0, 0, 0]);
                Http2Frames.Add(output, Http2FrameType.Data, header.Flags | Http2Flags.Padded, header.StreamId, [0, .. payload[cut..]]);
            }
            else
            {
                Http2Frames.Add(output, header.Type, header.Flags, header.StreamId, payload);
            }
        }

        return output.ToArray();
    }

    /// <summary>The call up to half of its first message, then RST_STREAM (CANCEL).</summary>
    private static byte[] ResetInsideMessage(byte[] stream)
    {
        var output = new List<byte>(Http2FrameHeader.ClientPreface.ToArray());
        foreach (var (header, payload) in RingSeeds.Frames(stream))
        {
            if (header.Type == Http2FrameType.Data)
            {
                Http2Frames.Add(output, Http2FrameType.Data, Http2Flags.None, header.StreamId, payload[..(payload.Length / 2)]);
                break;
            }

            Http2Frames.Add(output, header.Type, header.Flags, header.StreamId, payload);
        }

        Http2Frames.Add(output, Http2FrameType.RstStream, Http2Flags.None, StreamId, Http2Frames.Word(0x8));
        return output.ToArray();
    }

    /// <summary>The call with its HEADERS repeated on stream 3 before its end (the port serves one call per connection).</summary>
    private static byte[] SecondStream(byte[] stream)
    {
        var frames = RingSeeds.Frames(stream);
        var output = new List<byte>(Http2FrameHeader.ClientPreface.ToArray());
        foreach (var (header, payload) in frames)
        {
            if (header.Type == Http2FrameType.Data && header.Has(Http2Flags.EndStreamOrAck))
            {
                var (_, block) = frames.First(f => f.Header.Type == Http2FrameType.Headers);
                Http2Frames.Add(output, Http2FrameType.Headers, Http2Flags.EndHeaders | Http2Flags.EndStreamOrAck, StreamId + 2, block);
            }

            Http2Frames.Add(output, header.Type, header.Flags, header.StreamId, payload);
        }

        return output.ToArray();
    }
}
