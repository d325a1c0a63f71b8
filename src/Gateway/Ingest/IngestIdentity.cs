using System.Security.Cryptography.X509Certificates;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Telemetry;
using Grpc.Core;

namespace Forkline.Gateway.Ingest;

/// <summary>
/// Which host a collector's stream may report for: the CN of its fleet certificate, or the host its
/// bearer token is issued for. Refusals end the call with a gRPC status and are counted in
/// <c>forkline_ingest_refused_total{reason}</c>.
/// </summary>
public sealed class IngestIdentity
{
    private readonly Dictionary<string, string> _hostOfToken;
    private readonly FleetCertificates? _fleet;
    private readonly GatewayMetrics _metrics;

    /// <param name="fleet">Null: no TLS on the listener, certificates play no part.</param>
    public IngestIdentity(IngestSettings settings, FleetCertificates? fleet, GatewayMetrics metrics)
    {
        _hostOfToken = settings.HostTokens.ToDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);
        _fleet = fleet;
        _metrics = metrics;
    }

    /// <summary>No TLS and no tokens: every stream may report for any host (loopback only, see <see cref="IngestSettings.Validate"/>).</summary>
    public bool IsOpen => _fleet is null && _hostOfToken.Count == 0;

    /// <summary>The host the caller may report for; null when <see cref="IsOpen"/>. Throws UNAUTHENTICATED otherwise.</summary>
    public string? HostOf(X509Certificate2? certificate, string? authorization)
    {
        // The TLS handshake already refused certificates the fleet CA did not issue (CountUntrusted).
        if (certificate is not null && _fleet is not null) return HostNameOf(certificate);
        if (authorization is not null)
        {
            const string scheme = "Bearer ";
            if (authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
                && _hostOfToken.TryGetValue(authorization[scheme.Length..].Trim(), out var host))
                return host;
            throw Refused("unknown_token", StatusCode.Unauthenticated, "the bearer token is not one of Ingest:HostTokens");
        }
        if (IsOpen) return null;
        throw Refused("no_identity", StatusCode.Unauthenticated,
            "a collector must present its fleet certificate (OU=collector, CN=its host name) or a bearer token of Ingest:HostTokens");
    }

    /// <summary>Throws PERMISSION_DENIED unless a stream identified as <paramref name="identity"/> may report for <paramref name="claimed"/>.</summary>
    public void Demand(string? identity, string claimed)
    {
        if (identity is null || string.Equals(identity, claimed, StringComparison.Ordinal)) return;
        throw Refused("other_host", StatusCode.PermissionDenied, $"this collector is identified as host '{identity}' and may not report for host '{claimed}'");
    }

    /// <summary>The handshake's client-certificate check: the fleet CA must have issued it for a collector.</summary>
    public bool IsTrusted(X509Certificate2? certificate)
    {
        if (_fleet is null || _fleet.Refusal(certificate) is null) return true;
        _metrics.IngestRefused("untrusted_certificate");
        return false;
    }

    public static FleetCertificates CollectorCertificates(X509Certificate2 authority) =>
        new(authority, new HashSet<string>([FleetRoles.Collector]));

    private static string HostNameOf(X509Certificate2 certificate) => certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);

    private RpcException Refused(string reason, StatusCode status, string detail)
    {
        _metrics.IngestRefused(reason);
        return new RpcException(new Status(status, detail));
    }
}
