using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;
using Forkline.Gateway.Cluster;

namespace Forkline.Gateway.Hosting;

/// <summary>
/// TLS with mutual authentication on the cluster transport: every node presents its certificate and
/// accepts only peers whose certificates the fleet CA issued (<see cref="FleetCertificates"/>).
/// </summary>
/// <param name="CertificatePath">PKCS#12 (.pfx / .p12) file with this node's certificate and private key.</param>
/// <param name="CertificatePassword">The PKCS#12 file's password; null or empty for none.</param>
/// <param name="AuthorityPath">PEM file of the fleet CA certificate.</param>
public sealed record ClusterTlsSettings(string CertificatePath, string? CertificatePassword, string AuthorityPath)
{
    /// <summary>This node's certificate and the fleet CA, for the gateway's ingest listener (mutual TLS with collectors).</summary>
    public (X509Certificate2 Certificate, X509Certificate2 Authority) Load() =>
        (CertificateFiles.LoadPkcs12("node certificate", CertificatePath, CertificatePassword), CertificateFiles.LoadCertificate("fleet CA", AuthorityPath));

    /// <summary>The Akka.Remote setup for a node with <paramref name="roles"/>; fails with the fix when the files or the certificate are wrong.</summary>
    public DotNettySslSetup CreateSetup(IReadOnlyList<string> roles)
    {
        var authority = CertificateFiles.LoadCertificate("fleet CA", AuthorityPath);
        var certificate = CertificateFiles.LoadPkcs12("node certificate", CertificatePath, CertificatePassword);
        // Only gateways are members: a collector's certificate (OU=collector) identifies it to the ingest listener, not here.
        var fleet = new FleetCertificates(authority, new HashSet<string>([GatewaySettings.GatewayRole]));
        fleet.RequireOwn(certificate, roles);
        // Host names are not checked: nodes are addressed by IP and pod address; the fleet CA is the identity.
        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: false, customValidator: fleet.Validate);
    }
}
