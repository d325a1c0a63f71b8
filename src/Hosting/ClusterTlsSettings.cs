using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;
using Forkline.Gateway.Cluster;

namespace Forkline.Hosting;

/// <summary>
/// TLS with mutual authentication on the cluster transport: every node presents its certificate and
/// accepts only peers whose certificates the fleet CA issued (<see cref="FleetCertificates"/>).
/// Off, the transport is plain TCP (a single machine only).
/// </summary>
public sealed record ClusterTlsSettings
{
    public ClusterTlsSettings()
    {
    }

    /// <summary>TLS on, with these files.</summary>
    public ClusterTlsSettings(string certificate, string? password, string authority) =>
        (Enabled, Certificate, Password, Authority) = (true, certificate, password ?? "", authority);

    public bool Enabled { get; init; }

    /// <summary>PKCS#12 (.pfx / .p12) file with this node's certificate and private key.</summary>
    public string Certificate { get; init; } = "";

    /// <summary>The PKCS#12 file's password; empty for none.</summary>
    public string Password { get; init; } = "";

    /// <summary>PEM file of the fleet CA certificate: the only issuer whose certificates may join.</summary>
    public string Authority { get; init; } = "";

    public void Validate()
    {
        if (Enabled && (string.IsNullOrEmpty(Certificate) || string.IsNullOrEmpty(Authority)))
            throw new ArgumentException("Cluster:Tls:Enabled is true: set Cluster:Tls:Certificate (this node's PKCS#12 file) and Cluster:Tls:Authority (the fleet CA's PEM file)");
    }

    /// <summary>This node's certificate and the fleet CA, for the gateway's ingest listener (mutual TLS with collectors).</summary>
    public (X509Certificate2 Certificate, X509Certificate2 Authority) Load() =>
        (CertificateFiles.LoadPkcs12("node certificate", Certificate, Password), CertificateFiles.LoadCertificate("fleet CA", Authority));

    /// <summary>The Akka.Remote setup for a node with <paramref name="roles"/>; fails with the fix when the files or the certificate are wrong.</summary>
    public DotNettySslSetup CreateSetup(IReadOnlyList<string> roles)
    {
        var authority = CertificateFiles.LoadCertificate("fleet CA", Authority);
        var certificate = CertificateFiles.LoadPkcs12("node certificate", Certificate, Password);
        // Only gateways are members: a collector's certificate (OU=collector) identifies it to the ingest listener, not here.
        var fleet = new FleetCertificates(authority, new HashSet<string>([FleetRoles.Gateway]));
        fleet.RequireOwn(certificate, roles);
        // Host names are not checked: nodes are addressed by IP and pod address; the fleet CA is the identity.
        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: false, customValidator: fleet.Validate);
    }
}
