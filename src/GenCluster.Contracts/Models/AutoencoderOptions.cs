namespace GenCluster.Contracts.Models;

/// <summary>What every autoencoder kind has: a base channel width and one Adam optimiser for encoder and decoder.</summary>
[GenerateSerializer, Immutable]
public abstract record AutoencoderOptions : ModelOptions
{
    /// <summary>Base channel width of encoder and decoder.</summary>
    [Id(0)] public int Width { get; init; } = 128;

    /// <summary>Adam learning rate of encoder and decoder.</summary>
    [Id(1)] public double LearningRate { get; init; } = 3e-4;

    /// <summary>Adam β1.</summary>
    [Id(2)] public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam β2.</summary>
    [Id(3)] public double Beta2 { get; init; } = 0.999;

    /// <inheritdoc />
    public override IEnumerable<OptionError> Validate(string prefix = "model")
    {
        var errors = new List<OptionError>();
        errors.AddRange(AtLeast(prefix, "width", Width, 4));
        if (Width > 1024) errors.Add(new OptionError($"{prefix}.width", $"must be <= 1024, got {Width}"));
        errors.AddRange(Positive(prefix, "learningRate", LearningRate));
        errors.AddRange(UnitInterval(prefix, "beta1", Beta1));
        errors.AddRange(UnitInterval(prefix, "beta2", Beta2));
        return errors;
    }
}
