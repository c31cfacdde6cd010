namespace GenCluster.Trainer.Data;

/// <summary>A data set's file or folder is not in the shape its format needs; the message names the path, the expected and the found.</summary>
public sealed class DatasetFormatException(string path, string problem)
    : IOException($"{path}: {problem}")
{
    /// <summary>The file or folder at fault.</summary>
    public string FilePath { get; } = path;
}
