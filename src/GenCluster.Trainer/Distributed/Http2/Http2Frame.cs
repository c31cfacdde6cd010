using System.Buffers.Binary;

namespace GenCluster.Trainer.Distributed.Http2;

/// <summary>HTTP/2 frame types used by the ring's gRPC client and server (RFC 9113 section 6).</summary>
internal enum Http2FrameType : byte
{
    Data = 0x0,
    Headers = 0x1,
    Priority = 0x2,
    RstStream = 0x3,
    Settings = 0x4,
    PushPromise = 0x5,
    Ping = 0x6,
    GoAway = 0x7,
    WindowUpdate = 0x8,
    Continuation = 0x9,
}

/// <summary>Frame flags (their meaning depends on the frame type).</summary>
[Flags]
internal enum Http2Flags : byte
{
    None = 0,
    EndStreamOrAck = 0x1,
    EndHeaders = 0x4,
    Padded = 0x8,
    Priority = 0x20,
}

/// <summary>SETTINGS parameters (RFC 9113 section 6.5.2).</summary>
internal enum Http2Setting : ushort
{
    HeaderTableSize = 0x1,
    EnablePush = 0x2,
    MaxConcurrentStreams = 0x3,
    InitialWindowSize = 0x4,
    MaxFrameSize = 0x5,
    MaxHeaderListSize = 0x6,
}

/// <summary>The 9-byte frame header: 24-bit length, type, flags, 31-bit stream id.</summary>
internal readonly record struct Http2FrameHeader(int Length, Http2FrameType Type, Http2Flags Flags, int StreamId)
{
    public const int Size = 9;

    /// <summary>The client connection preface every HTTP/2 connection starts with.</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public bool Has(Http2Flags flag) => (Flags & flag) != 0;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = (byte)(Length >> 16);
        destination[1] = (byte)(Length >> 8);
        destination[2] = (byte)Length;
        destination[3] = (byte)Type;
        destination[4] = (byte)Flags;
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], StreamId & int.MaxValue);
    }

    public static Http2FrameHeader Read(ReadOnlySpan<byte> source) => new(
        (source[0] << 16) | (source[1] << 8) | source[2],
        (Http2FrameType)source[3],
        (Http2Flags)source[4],
        BinaryPrimitives.ReadInt32BigEndian(source[5..]) & int.MaxValue);
}

/// <summary>Builders for the small frames both ends of the ring's HTTP/2 connections write.</summary>
internal static class Http2Frames
{
    /// <summary>Appends one frame (header and payload) to <paramref name="destination"/>.</summary>
    public static void Add(List<byte> destination, Http2FrameType type, Http2Flags flags, int streamId, byte[] payload)
    {
        Span<byte> header = stackalloc byte[Http2FrameHeader.Size];
        new Http2FrameHeader(payload.Length, type, flags, streamId).WriteTo(header);
        destination.AddRange(header);
        destination.AddRange(payload);
    }

    /// <summary>One frame as an array.</summary>
    public static byte[] Single(Http2FrameType type, Http2Flags flags, int streamId, byte[] payload)
    {
        var frame = new List<byte>(Http2FrameHeader.Size + payload.Length);
        Add(frame, type, flags, streamId, payload);
        return frame.ToArray();
    }

    /// <summary>A SETTINGS payload.</summary>
    public static byte[] Settings(params (Http2Setting Id, int Value)[] settings)
    {
        var payload = new byte[settings.Length * 6];
        for (var i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(i * 6), (ushort)settings[i].Id);
            BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan((i * 6) + 2), settings[i].Value);
        }

        return payload;
    }

    /// <summary>The header block fragment of a HEADERS frame: its payload without padding and priority fields.</summary>
    /// <exception cref="InvalidDataException">The padding is longer than the payload.</exception>
    public static ReadOnlySpan<byte> HeaderBlockFragment(Http2FrameHeader header, ReadOnlySpan<byte> payload)
    {
        var padding = 0;
        if (header.Has(Http2Flags.Padded) && payload.Length > 0)
        {
            padding = payload[0];
            payload = payload[1..];
        }

        if (header.Has(Http2Flags.Priority) && payload.Length >= 5)
        {
            payload = payload[5..];
        }

        if (padding > payload.Length)
        {
            throw new InvalidDataException($"HEADERS frame: {padding} bytes of padding in a {payload.Length}-byte payload");
        }

        return payload[..^padding];
    }

    /// <summary>
    /// Why <paramref name="header"/>'s length does not fit its type, or null when it does: RST_STREAM, WINDOW_UPDATE,
    /// PING and PRIORITY have fixed sizes, SETTINGS comes in 6-byte entries (none in an acknowledgement), GOAWAY holds
    /// at least its last stream id and error code. RFC 9113 section 6 makes each a connection error (FRAME_SIZE_ERROR).
    /// </summary>
    public static string? SizeError(Http2FrameHeader header)
    {
        var expected = header.Type switch
        {
            Http2FrameType.RstStream or Http2FrameType.WindowUpdate => 4,
            Http2FrameType.Ping => 8,
            Http2FrameType.Priority => 5,
            Http2FrameType.Settings when header.Has(Http2Flags.EndStreamOrAck) => 0,
            _ => -1,
        };
        if (expected >= 0 && header.Length != expected)
        {
            return $"a {header.Length}-byte {header.Type} frame (it must be {expected} bytes)";
        }

        return header.Type switch
        {
            Http2FrameType.Settings when header.Length % 6 != 0 => $"a {header.Length}-byte Settings frame (it must be a multiple of 6 bytes)",
            Http2FrameType.GoAway when header.Length < 8 => $"a {header.Length}-byte GoAway frame (it must be at least 8 bytes)",
            _ => null,
        };
    }

    /// <summary>A 4-byte big-endian payload: a WINDOW_UPDATE increment or an RST_STREAM error code.</summary>
    public static byte[] Word(uint value)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, value);
        return payload;
    }
}
