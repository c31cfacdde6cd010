namespace GenCluster.Trainer.Data;

/// <summary>A data file's content does not match its known SHA-256.</summary>
public sealed class DataIntegrityException(string path, string expectedSha256, string actualSha256)
    : Exception($"{path}: SHA-256 is {actualSha256}, expected {expectedSha256}; the file is corrupt or not the expected version — delete it to fetch it again")
{
    /// <summary>The file that failed verification.</summary>
    public string FilePath { get; } = path;

    /// <summary>The hash it should have.</summary>
    public string ExpectedSha256 { get; } = expectedSha256;

    /// <summary>The hash it has.</summary>
    public string ActualSha256 { get; } = actualSha256;
}
