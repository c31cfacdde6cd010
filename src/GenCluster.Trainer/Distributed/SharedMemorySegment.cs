using System.IO.MemoryMappedFiles;

namespace GenCluster.Trainer.Distributed;

/// <summary>
/// The memory that ranks on one host share for a round's collectives: a file in <c>/dev/shm</c> (tmpfs, so memory, not
/// disk), mapped by every rank. Rank 0 creates it with its whole size reserved up front, so a full <c>/dev/shm</c> is an
/// error at creation, not a crash on first touch; the others open it by name and prove it is the round's with the
/// token rank 0 put in its header. The name is unlinked as soon as every rank has mapped it, so nothing is left behind
/// even by a crash.
/// </summary>
/// <remarks>
/// Layout: a 4 KiB header (magic, world size, slot size, token, the futex word), one <see cref="RankBlockBytes"/> block per
/// rank (its counters, its call, its pid, its abort reason; written only by that rank), then one slot per rank and one
/// shared result slot of <see cref="SlotBytes"/> each.
/// </remarks>
internal sealed unsafe class SharedMemorySegment : IDisposable
{
    /// <summary>"GCSHMEM1".</summary>
    private const long Magic = 0x314D454D48534347;

    private const int HeaderBytes = 4096;

    /// <summary>Bytes of each rank's block.</summary>
    public const int RankBlockBytes = 2048;

    /// <summary>Where in a rank's block its abort reason starts, and how long it may be.</summary>
    public const int ReasonOffset = 256, ReasonBytes = 1024;

    /// <summary>The directory segments live in.</summary>
    public const string Directory = "/dev/shm";

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    private SharedMemorySegment(string path, MemoryMappedFile file, long bytes, int worldSize, int slotBytes)
    {
        Path = path;
        _file = file;
        _view = file.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
        _base += _view.PointerOffset;
        WorldSize = worldSize;
        SlotBytes = slotBytes;
    }

    /// <summary>The file's path (unlinked once every rank has mapped it).</summary>
    public string Path { get; }

    /// <summary>Ranks sharing the segment.</summary>
    public int WorldSize { get; }

    /// <summary>Bytes of each slot: the most one piece of a collective moves per rank.</summary>
    public int SlotBytes { get; }

    /// <summary>The word every rank bumps after changing its block, and sleeps on (<see cref="Futex"/>).</summary>
    public int* Bell => (int*)(_base + 64);

    /// <summary>The start of rank <paramref name="rank"/>'s block.</summary>
    public byte* Block(int rank) => _base + HeaderBytes + ((long)rank * RankBlockBytes);

    /// <summary>Rank <paramref name="rank"/>'s slot, as floats.</summary>
    public Span<float> Slot(int rank) => new(_base + DataOffset(WorldSize) + ((long)rank * SlotBytes), SlotBytes / sizeof(float));

    /// <summary>The slot every rank reads results from.</summary>
    public Span<float> Result => Slot(WorldSize);

    /// <summary>Total bytes of a segment for <paramref name="worldSize"/> ranks.</summary>
    public static long BytesFor(int worldSize, int slotBytes) => DataOffset(worldSize) + ((long)(worldSize + 1) * slotBytes);

    private static long DataOffset(int worldSize) => (HeaderBytes + ((long)worldSize * RankBlockBytes) + 4095) / 4096 * 4096;

    /// <summary>Creates (rank 0) a segment at <paramref name="path"/>, reserving its memory; throws <see cref="IOException"/> if it cannot.</summary>
    public static SharedMemorySegment Create(string path, int worldSize, int slotBytes, ulong token)
    {
        var bytes = BytesFor(worldSize, slotBytes);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite,
            PreallocationSize = bytes,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(path, options);
        try
        {
            stream.SetLength(bytes);
            var file = MemoryMappedFile.CreateFromFile(stream, null, bytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            var segment = new SharedMemorySegment(path, file, bytes, worldSize, slotBytes);
            *(int*)(segment._base + 8) = worldSize;
            *(int*)(segment._base + 12) = slotBytes;
            *(ulong*)(segment._base + 16) = token;
            Volatile.Write(ref *(long*)segment._base, Magic);
            return segment;
        }
        catch
        {
            stream.Dispose();
            TryDelete(path);
            throw;
        }
    }

    /// <summary>
    /// Opens the segment rank 0 created, or says why not: a missing or foreign file, a different world size or token.
    /// </summary>
    public static SharedMemorySegment? TryOpen(string path, int worldSize, ulong token, out string? reason)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = $"cannot open {path}: {ex.Message}";
            return null;
        }

        var length = stream.Length;
        if (length < HeaderBytes)
        {
            stream.Dispose();
            reason = $"{path} holds {length} bytes, fewer than its {HeaderBytes}-byte header";
            return null;
        }

        var file = MemoryMappedFile.CreateFromFile(stream, null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        try
        {
            long magic;
            int ranks, slotBytes;
            ulong stamp;
            using (var header = file.CreateViewAccessor(0, HeaderBytes, MemoryMappedFileAccess.Read))
            {
                (magic, ranks, slotBytes, stamp) = (header.ReadInt64(0), header.ReadInt32(8), header.ReadInt32(12), header.ReadUInt64(16));
            }

            reason = magic != Magic ? $"{path} is not a ring segment"
                : ranks != worldSize ? $"{path} is for {ranks} ranks, this round has {worldSize}"
                : stamp != token ? $"{path} carries another round's token"
                : slotBytes <= 0 || BytesFor(worldSize, slotBytes) > length ? $"{path} holds {length} bytes, its header claims {BytesFor(worldSize, Math.Max(0, slotBytes))}"
                : null;
            if (reason is not null)
            {
                file.Dispose();
                return null;
            }

            return new SharedMemorySegment(path, file, BytesFor(worldSize, slotBytes), worldSize, slotBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            file.Dispose();
            reason = $"cannot map {path}: {ex.Message}";
            return null;
        }
    }

    /// <summary>Removes the name (the memory stays until every rank has unmapped it).</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the name is unique to the round and tmpfs empties on reboot.
        }
    }

    /// <summary>Unmaps the segment.</summary>
    public void Dispose()
    {
        if (_base != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _base = null;
        }

        _view.Dispose();
        _file.Dispose();
    }
}
