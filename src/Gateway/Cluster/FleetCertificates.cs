using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;

namespace Forkline.Gateway.Cluster;

/// <summary>
/// Who may be a member of the cluster: a node whose certificate was issued by the fleet's own CA and
/// names a Forkline role (gateway, collector) as an OU of its subject. A node may only take the
/// roles its certificate names, so a collector's certificate cannot run a gateway. The system
/// trust store plays no part: a certificate from a public CA is as foreign as a self-signed one.
/// </summary>
public sealed class FleetCertificates
{
    private static readonly Oid OrganizationalUnit = new("2.5.4.11");

    private readonly X509Certificate2 _authority;
    private readonly IReadOnlySet<string> _fleetRoles;

    public FleetCertificates(X509Certificate2 authority, IReadOnlySet<string> fleetRoles)
    {
        _authority = authority;
        _fleetRoles = fleetRoles;
    }

    /// <summary>Null when the certificate is the fleet's, otherwise why not.</summary>
    public string? Refusal(X509Certificate2? certificate)
    {
        if (certificate is null) return "it presented no certificate (mutual TLS requires one)";
        using var chain = PrivateCertificateAuthority.ChainTrusting(_authority);
        if (!chain.Build(certificate))
        {
            var problems = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            return $"certificate '{certificate.Subject}' (issuer '{certificate.Issuer}') is not issued by the fleet CA '{_authority.Subject}': {problems}";
        }
        if (!RolesOf(certificate).Overlaps(_fleetRoles))
            return $"certificate '{certificate.Subject}' names no Forkline role: its subject needs OU={string.Join(" or OU=", _fleetRoles)}";
        return null;
    }

    /// <summary>The check both ends of every cluster connection run during the TLS handshake.</summary>
    public bool Validate(X509Certificate2? certificate, X509Chain? chain, string remotePeer, SslPolicyErrors errors, ILoggingAdapter log)
    {
        // The handshake's own errors come from the system trust store and the peer's host name, which
        // mean nothing for a private CA and nodes addressed by IP; the fleet chain below replaces them.
        var refusal = Refusal(certificate);
        if (refusal is null) return true;
        log.Warning("refused cluster connection with {0}: {1}", remotePeer, refusal);
        return false;
    }

    /// <summary>Throws unless <paramref name="certificate"/> is the fleet's and names every role this node takes.</summary>
    public void RequireOwn(X509Certificate2 certificate, IEnumerable<string> roles)
    {
        if (Refusal(certificate) is { } refusal) throw new InvalidOperationException($"this node's own {refusal}");
        var granted = RolesOf(certificate);
        var missing = roles.Where(role => !granted.Contains(role)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"this node's certificate '{certificate.Subject}' does not grant the role(s) {string.Join(", ", missing)}: " +
                $"issue it with OU={string.Join(" and OU=", missing)} in the subject, or start the node without those roles");
        if (!certificate.HasPrivateKey)
            throw new InvalidOperationException($"this node's certificate '{certificate.Subject}' has no private key: give the PKCS#12 file that holds the key");
    }

    public static HashSet<string> RolesOf(X509Certificate2 certificate)
    {
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (name.HasMultipleElements) continue;
            if (name.GetSingleElementType().Value == OrganizationalUnit.Value && name.GetSingleElementValue() is { } unit) roles.Add(unit);
        }
        return roles;
    }
}
