using System.Security.Cryptography.X509Certificates;

namespace Forkline.Gateway.Cluster;

/// <summary>
/// Trust in one private CA only (the fleet's, or a Kubernetes cluster's): the system trust store
/// plays no part, so a certificate from a public CA is as foreign as a self-signed one.
/// </summary>
public static class PrivateCertificateAuthority
{
    /// <summary>A chain policy that trusts <paramref name="authority"/> alone; the caller disposes it.</summary>
    public static X509Chain ChainTrusting(X509Certificate2 authority)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        // A private CA publishes no revocation lists; a certificate is retired by retiring the CA or by expiry.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain;
    }

    public static bool Issued(X509Certificate2 authority, X509Certificate? certificate)
    {
        if (certificate is null) return false;
        using var chain = ChainTrusting(authority);
        return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
