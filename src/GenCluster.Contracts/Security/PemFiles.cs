using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GenCluster.Contracts.Security;

/// <summary>Certificates and private keys as PEM files: a certificate file anyone may read, a key file only its owner.</summary>
public static class PemFiles
{
    /// <summary>Writes the certificate (<c>BEGIN CERTIFICATE</c>) to <paramref name="path"/>.</summary>
    public static void WriteCertificate(string path, X509Certificate2 certificate)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n");
    }

    /// <summary>Writes the certificate's private key (PKCS#8, <c>BEGIN PRIVATE KEY</c>) to a new owner-only (0600) file at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The certificate has no ECDSA or RSA private key.</exception>
    public static void WritePrivateKey(string path, X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException($"'{certificate.Subject}' has no ECDSA or RSA private key", nameof(certificate));
        PrivateFile.Write(path, key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>Reads a certificate and its private key; <paramref name="certificateFlag"/> and <paramref name="keyFlag"/> name them in errors.</summary>
    /// <exception cref="ClusterTlsException">A file is missing or unreadable, is not PEM, or the key does not belong to the certificate.</exception>
    public static X509Certificate2 ReadCertificateWithKey(string certificatePath, string keyPath, string certificateFlag, string keyFlag)
    {
        MustExist(certificatePath, certificateFlag);
        MustExist(keyPath, keyFlag);
        try
        {
            using var loaded = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            // Loaded from PEM the key is ephemeral; a PKCS#12 round trip gives a certificate SslStream can use on every platform.
            return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), password: null);
        }
        catch (ArgumentException e)
        {
            throw new ClusterTlsException($"{keyFlag} {keyPath} is not the private key of {certificateFlag} {certificatePath} ({e.Message})", e);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ClusterTlsException(
                $"{certificateFlag} {certificatePath} with {keyFlag} {keyPath}: not a PEM certificate and its PEM private key ({e.Message})", e);
        }
    }

    /// <summary>Reads every certificate of a PEM file (a CA file may hold several, e.g. while a CA is replaced).</summary>
    /// <exception cref="ClusterTlsException">The file is missing, unreadable or holds no PEM certificate.</exception>
    public static X509Certificate2Collection ReadCertificates(string path, string flag)
    {
        MustExist(path, flag);
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ClusterTlsException($"{flag} {path}: not a PEM certificate file ({e.Message})", e);
        }
        if (certificates.Count == 0) throw new ClusterTlsException($"{flag} {path}: holds no PEM certificate (BEGIN CERTIFICATE)");
        return certificates;
    }

    private static void MustExist(string path, string flag)
    {
        if (!File.Exists(path)) throw new ClusterTlsException($"{flag} {path}: the file does not exist");
    }
}
