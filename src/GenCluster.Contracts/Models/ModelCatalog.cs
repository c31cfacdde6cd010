namespace GenCluster.Contracts.Models;

/// <summary>Which part of the product trains a kind.</summary>
public enum ModelFamily
{
    /// <summary>Generator and discriminator (critic).</summary>
    Gan,
    /// <summary>Encoder and decoder (and a prior).</summary>
    Autoencoder,
}

/// <summary>One model kind: its name, options record and a line for help texts.</summary>
/// <param name="Kind">Name used in job specs and on the command line.</param>
/// <param name="OptionsType">Its <see cref="ModelOptions"/> record.</param>
/// <param name="Family">Family.</param>
/// <param name="Description">One line for <c>--help</c> and error messages.</param>
public sealed record ModelCatalogEntry(string Kind, Type OptionsType, ModelFamily Family, string Description)
{
    /// <summary>A fresh options record with the paper's defaults.</summary>
    public ModelOptions Defaults() => (ModelOptions)Activator.CreateInstance(OptionsType)!;
}

/// <summary>
/// Every model kind GenCluster trains: the one list the job-spec validator, the JSON reader, the command line and the
/// trainer's recipe registry all use (a test checks the registry has a recipe for each).
/// </summary>
public static class ModelCatalog
{
    /// <summary>The kinds, in the order help texts list them.</summary>
    public static IReadOnlyList<ModelCatalogEntry> Entries { get; } =
    [
        new(MlpGanOptions.KindName, typeof(MlpGanOptions), ModelFamily.Gan, "GAN (Goodfellow et al. 2014), MLP G and D, non-saturating loss"),
        new(CganOptions.KindName, typeof(CganOptions), ModelFamily.Gan, "conditional GAN (Mirza & Osindero 2014), labels into G and D"),
        new(DcganOptions.KindName, typeof(DcganOptions), ModelFamily.Gan, "DCGAN (Radford et al. 2015)"),
        new(WganOptions.KindName, typeof(WganOptions), ModelFamily.Gan, "Wasserstein GAN with weight clipping and RMSProp (Arjovsky et al. 2017)"),
        new(WganGpOptions.KindName, typeof(WganGpOptions), ModelFamily.Gan, "WGAN with gradient penalty (Gulrajani et al. 2017)"),
        new(SnganOptions.KindName, typeof(SnganOptions), ModelFamily.Gan, "spectrally normalised GAN, hinge loss (Miyato et al. 2018)"),
        new(SaganOptions.KindName, typeof(SaganOptions), ModelFamily.Gan, "self-attention GAN, spectral norm in G and D, TTUR (Zhang et al. 2018)"),
        new(BigGanOptions.KindName, typeof(BigGanOptions), ModelFamily.Gan, "BigGAN (Brock et al. 2018): class-conditional residual G and projection D, large batches, EMA, truncation"),
        new(VaeOptions.KindName, typeof(VaeOptions), ModelFamily.Autoencoder, "variational autoencoder (Kingma & Welling 2014), Gaussian encoder, Bernoulli or Gaussian decoder"),
        new(VqVaeOptions.KindName, typeof(VqVaeOptions), ModelFamily.Autoencoder, "VQ-VAE (van den Oord et al. 2017), EMA codebook, straight-through estimator"),
        new(VqVae2Options.KindName, typeof(VqVae2Options), ModelFamily.Autoencoder, "VQ-VAE-2 (Razavi et al. 2019), top and bottom codes, then a gated PixelCNN prior stage"),
    ];

    /// <summary>Kind names.</summary>
    public static IReadOnlyList<string> Kinds { get; } = Entries.Select(e => e.Kind).ToList();

    /// <summary>The entry for <paramref name="kind"/> (exact, case-sensitive), or null.</summary>
    public static ModelCatalogEntry? Find(string? kind) => Entries.FirstOrDefault(e => e.Kind == kind);

    /// <summary><paramref name="options"/> with base width <paramref name="width"/> (every GAN and autoencoder kind has one).</summary>
    public static ModelOptions WithWidth(ModelOptions options, int width) => options switch
    {
        GanOptions gan => gan with { Width = width },
        AutoencoderOptions autoencoder => autoencoder with { Width = width },
        _ => throw new ArgumentException($"model kind '{options.Kind}' has no width", nameof(options)),
    };

    /// <summary>Base width of <paramref name="options"/>, or null for a kind without one.</summary>
    public static int? WidthOf(ModelOptions options) => options switch
    {
        GanOptions gan => gan.Width,
        AutoencoderOptions autoencoder => autoencoder.Width,
        _ => null,
    };

    /// <summary>Paper defaults of <paramref name="kind"/>.</summary>
    /// <exception cref="ArgumentException">Unknown kind; the message lists the known ones.</exception>
    public static ModelOptions Defaults(string kind) =>
        (Find(kind) ?? throw new ArgumentException($"model kind '{kind}' is unknown; expected one of {string.Join(", ", Kinds)}", nameof(kind))).Defaults();
}
