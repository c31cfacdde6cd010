using Microsoft.Extensions.Options;

namespace GenCluster.Contracts.Security;

/// <summary>
/// Mutual TLS on the Orleans connections: silo to silo and trainer to gateway (configuration section <c>Tls</c>, the
/// same flags on <c>gencluster silo</c> and <c>gencluster-trainer run</c>). On by default: a process without
/// certificates refuses to start unless <see cref="Insecure"/> says so.
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Tls";

    /// <summary>Flag of <see cref="CertificateFile"/>.</summary>
    public const string CertificateFlag = "--tls-cert";

    /// <summary>Flag of <see cref="KeyFile"/>.</summary>
    public const string KeyFlag = "--tls-key";

    /// <summary>Flag of <see cref="CaFile"/>.</summary>
    public const string CaFlag = "--tls-ca";

    /// <summary>Flag of <see cref="Insecure"/>.</summary>
    public const string InsecureFlag = "--insecure-no-tls";

    /// <summary>This process's certificate, PEM (<c>silo.crt</c> or <c>trainer.crt</c> from <c>gencluster certs</c>).</summary>
    public string CertificateFile { get; set; } = "";

    /// <summary>Its private key, PEM (PKCS#8 or the algorithm's own form).</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>The cluster's CA certificate(s), PEM (<c>ca.crt</c>): peers must present a certificate it signed.</summary>
    public string CaFile { get; set; } = "";

    /// <summary>Plain TCP without TLS or certificates (<c>--insecure-no-tls</c>): whoever reaches the ports may join. Default false.</summary>
    public bool Insecure { get; set; }

    /// <summary>Whether any file is named.</summary>
    public bool HasFiles => CertificateFile.Length > 0 || KeyFile.Length > 0 || CaFile.Length > 0;
}

/// <summary>Validates <see cref="ClusterTlsOptions"/>; messages name the flag and the configuration key.</summary>
public sealed class ClusterTlsOptionsValidator : IValidateOptions<ClusterTlsOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ClusterTlsOptions o)
    {
        const string section = ClusterTlsOptions.Section;
        var errors = new List<string>();
        if (o.Insecure)
        {
            if (o.HasFiles)
            {
                errors.Add($"{ClusterTlsOptions.InsecureFlag} ({section}:{nameof(o.Insecure)}) contradicts {ClusterTlsOptions.CertificateFlag}, " +
                           $"{ClusterTlsOptions.KeyFlag} and {ClusterTlsOptions.CaFlag}: choose one");
            }
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
        Required(ClusterTlsOptions.CertificateFlag, nameof(o.CertificateFile), o.CertificateFile, "this process's certificate");
        Required(ClusterTlsOptions.KeyFlag, nameof(o.KeyFile), o.KeyFile, "its private key");
        Required(ClusterTlsOptions.CaFlag, nameof(o.CaFile), o.CaFile, "the cluster's CA certificate");
        if (errors.Count > 0)
        {
            errors.Add($"Orleans connections use mutual TLS unless {ClusterTlsOptions.InsecureFlag} ({section}:{nameof(o.Insecure)}) says otherwise; " +
                       "`gencluster certs --out <dir>` makes a CA and the silo's and trainers' certificates");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Required(string flag, string key, string value, string what)
        {
            if (string.IsNullOrWhiteSpace(value)) errors.Add($"{flag} ({section}:{key}) is not set: {what} (PEM)");
        }
    }
}
