using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Forkline.Hosting;

/// <summary>Reads the certificate files of the settings, failing with the file and the fix.</summary>
public static class CertificateFiles
{
    /// <summary>A certificate with its private key from a PKCS#12 (.pfx / .p12) file; an empty password is none.</summary>
    public static X509Certificate2 LoadPkcs12(string what, string path, string? password) =>
        Load(what, path, () => X509CertificateLoader.LoadPkcs12FromFile(path, string.IsNullOrEmpty(password) ? null : password));

    /// <summary>A certificate (no key) from a PEM or DER file.</summary>
    public static X509Certificate2 LoadCertificate(string what, string path) =>
        Load(what, path, () => X509CertificateLoader.LoadCertificateFromFile(path));

    private static X509Certificate2 Load(string what, string path, Func<X509Certificate2> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"cannot read the {what} from {Path.GetFullPath(path)}: {e.Message} — check the path, the file's permissions and (PKCS#12) the password", e);
        }
    }
}
