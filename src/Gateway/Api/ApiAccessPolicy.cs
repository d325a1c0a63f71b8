using System.Security.Cryptography.X509Certificates;

namespace Forkline.Gateway.Api;

/// <summary>The API's operations, so a policy can tell read-only queries from admin calls.</summary>
public enum ApiOperation
{
    GetProcess,
    GetLineage,
    ListProcesses,
    StreamEvents,
    Replay,
    /// <summary>Loss accounting of a host's collector runs.</summary>
    GetHostStats,
    /// <summary>Admin: a host entity saves a snapshot of its tree now.</summary>
    SnapshotHost,
    /// <summary>The Prometheus text of /metrics: host names and run stages, so not for anyone who can connect.</summary>
    ReadMetrics,
}

/// <summary>Who asks for what: the credentials a transport found on the request.</summary>
public sealed record ApiCaller(ApiOperation Operation, string? BearerToken, X509Certificate2? ClientCertificate)
{
    /// <summary>The token of an "Authorization: Bearer &lt;token&gt;" header (HTTP) or metadata entry (gRPC).</summary>
    public static string? BearerTokenOf(string? authorization)
    {
        const string scheme = "Bearer ";
        return authorization is not null && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[scheme.Length..].Trim()
            : null;
    }
}

/// <summary>A policy's answer: allowed, or refused with Unauthenticated / PermissionDenied and the reason.</summary>
public sealed record ApiAccessDecision(ApiErrorCode? Refusal, string Reason)
{
    public static ApiAccessDecision Allow { get; } = new(null, "allowed");

    public static ApiAccessDecision Unauthenticated(string reason) => new(ApiErrorCode.Unauthenticated, reason);

    public static ApiAccessDecision Denied(string reason) => new(ApiErrorCode.PermissionDenied, reason);
}

/// <summary>
/// Decides whether a caller may run an operation; both transports ask it before any query runs.
/// Health, readiness and metrics endpoints are not subject to it.
/// </summary>
public abstract class ApiAccessPolicy
{
    /// <summary>
    /// No authentication at all: only for an API bound to localhost (`forkline run`). Token and
    /// client-certificate policies replace it for a fleet gateway.
    /// </summary>
    public static ApiAccessPolicy AllowAll { get; } = new AllowAllPolicy();

    public abstract ApiAccessDecision Authorize(ApiCaller caller);

    /// <summary>Throws the refusal as the ApiRequestException both transports answer with.</summary>
    internal void Demand(ApiCaller caller)
    {
        var decision = Authorize(caller);
        if (decision.Refusal is { } refusal)
            throw new ApiRequestException(refusal, $"{caller.Operation} refused: {decision.Reason}");
    }

    private sealed class AllowAllPolicy : ApiAccessPolicy
    {
        public override ApiAccessDecision Authorize(ApiCaller caller) => ApiAccessDecision.Allow;
    }
}
