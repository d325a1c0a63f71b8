using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Forkline.Hosting;

namespace Forkline.Cluster.Tests;

/// <summary>
/// A fleet CA and node certificates made in memory, written as the files a node reads (PKCS#12 for
/// a node, PEM for the CA) into a folder removed afterwards. Mirrors what deploy/local/fleet makes
/// with openssl: subject OU = the node's role, both TLS usages, issued by the CA.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private const string Password = "test-password";
    private static readonly DateTimeOffset NotBefore = DateTimeOffset.UtcNow.AddDays(-1);
    private static readonly DateTimeOffset NotAfter = DateTimeOffset.UtcNow.AddDays(30);

    private readonly X509Certificate2 _authority;

    public TestCertificates()
    {
        Directory.CreateDirectory(Folder);
        _authority = SelfSigned("CN=Forkline test fleet CA", isAuthority: true);
        AuthorityPath = Path.Combine(Folder, "ca.pem");
        File.WriteAllText(AuthorityPath, _authority.ExportCertificatePem());
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "forkline-certs-" + Guid.NewGuid().ToString("N")[..12]);

    public string AuthorityPath { get; }

    /// <summary>A node certificate the fleet CA issued, with <paramref name="role"/> as the subject's OU.</summary>
    public ClusterTlsSettings IssuedFor(string name, string role)
    {
        using var key = RSA.Create(2048);
        var request = NodeRequest($"CN={name}, OU={role}, O=Forkline test fleet", key);
        var serial = RandomNumberGenerator.GetBytes(16);
        using var issued = request.Create(_authority, NotBefore, NotAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return Write(name, withKey);
    }

    /// <summary>
    /// A self-signed certificate that looks like a node's but no fleet CA issued it; the node that
    /// uses it trusts itself (as an intruder would), so only the other nodes can refuse it.
    /// </summary>
    public ClusterTlsSettings SelfSignedFor(string name, string role)
    {
        using var certificate = SelfSigned($"CN={name}, OU={role}, O=Forkline test fleet", isAuthority: false);
        var ownAuthority = Path.Combine(Folder, name + ".pem");
        File.WriteAllText(ownAuthority, certificate.ExportCertificatePem());
        return Write(name, certificate) with { Authority = ownAuthority };
    }

    public void Dispose()
    {
        _authority.Dispose();
        Directory.Delete(Folder, recursive: true);
    }

    private ClusterTlsSettings Write(string name, X509Certificate2 certificate)
    {
        var path = Path.Combine(Folder, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, Password));
        return new ClusterTlsSettings(path, Password, AuthorityPath);
    }

    private static X509Certificate2 SelfSigned(string subject, bool isAuthority)
    {
        using var key = RSA.Create(2048);
        var request = isAuthority ? AuthorityRequest(subject, key) : NodeRequest(subject, key);
        return request.CreateSelfSigned(NotBefore, NotAfter);
    }

    private static CertificateRequest AuthorityRequest(string subject, RSA key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request;
    }

    private static CertificateRequest NodeRequest(string subject, RSA key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        return request;
    }
}
