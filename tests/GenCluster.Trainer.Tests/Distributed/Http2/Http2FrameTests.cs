using GenCluster.Trainer.Distributed.Http2;

namespace GenCluster.Trainer.Tests.Distributed.Http2;

/// <summary>The frame helpers both ring ends share; enums travel as bytes because they are internal.</summary>
public class Http2FrameTests
{
    [Theory]
    [InlineData((byte)Http2FrameType.RstStream, (byte)Http2Flags.None, 4)]
    [InlineData((byte)Http2FrameType.WindowUpdate, (byte)Http2Flags.None, 4)]
    [InlineData((byte)Http2FrameType.Ping, (byte)Http2Flags.EndStreamOrAck, 8)]
    [InlineData((byte)Http2FrameType.Priority, (byte)Http2Flags.None, 5)]
    [InlineData((byte)Http2FrameType.Settings, (byte)Http2Flags.None, 18)]
    [InlineData((byte)Http2FrameType.Settings, (byte)Http2Flags.EndStreamOrAck, 0)]
    [InlineData((byte)Http2FrameType.GoAway, (byte)Http2Flags.None, 30)]
    [InlineData((byte)Http2FrameType.Data, (byte)Http2Flags.None, 0)]
    [InlineData((byte)Http2FrameType.Headers, (byte)Http2Flags.None, 3)]
    public void ControlFramesOfTheirSizeAreAccepted(byte type, byte flags, int length) =>
        Assert.Null(Http2Frames.SizeError(new Http2FrameHeader(length, (Http2FrameType)type, (Http2Flags)flags, 0)));

    [Theory]
    [InlineData((byte)Http2FrameType.RstStream, (byte)Http2Flags.None, 2, "a 2-byte RstStream frame (it must be 4 bytes)")]
    [InlineData((byte)Http2FrameType.WindowUpdate, (byte)Http2Flags.None, 0, "a 0-byte WindowUpdate frame (it must be 4 bytes)")]
    [InlineData((byte)Http2FrameType.Ping, (byte)Http2Flags.None, 9, "a 9-byte Ping frame (it must be 8 bytes)")]
    [InlineData((byte)Http2FrameType.Priority, (byte)Http2Flags.None, 4, "a 4-byte Priority frame (it must be 5 bytes)")]
    [InlineData((byte)Http2FrameType.Settings, (byte)Http2Flags.EndStreamOrAck, 6, "a 6-byte Settings frame (it must be 0 bytes)")]
    [InlineData((byte)Http2FrameType.Settings, (byte)Http2Flags.None, 7, "a 7-byte Settings frame (it must be a multiple of 6 bytes)")]
    [InlineData((byte)Http2FrameType.GoAway, (byte)Http2Flags.None, 7, "a 7-byte GoAway frame (it must be at least 8 bytes)")]
    public void ControlFramesOfAnotherSizeAreNamed(byte type, byte flags, int length, string expected) =>
        Assert.Equal(expected, Http2Frames.SizeError(new Http2FrameHeader(length, (Http2FrameType)type, (Http2Flags)flags, 0)));
}
