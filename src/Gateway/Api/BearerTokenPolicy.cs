using System.Security.Cryptography;
using System.Text;

namespace Forkline.Gateway.Api;

/// <summary>What a token may do: query (read-only) or also run admin operations.</summary>
public enum ApiAccessLevel
{
    ReadOnly,
    Admin,
}

/// <summary>
/// The fleet gateway's API access: every request carries "Authorization: Bearer &lt;token&gt;" with a
/// configured read-only or admin token. No token or an unknown one: Unauthenticated (HTTP 401);
/// a read-only token on an admin operation: PermissionDenied (HTTP 403). Only SHA-256 digests of the
/// tokens are kept, so a lookup reveals nothing of a token through its timing.
/// </summary>
public sealed class BearerTokenPolicy : ApiAccessPolicy
{
    private readonly Dictionary<string, ApiAccessLevel> _levelByDigest = new(StringComparer.Ordinal);

    public BearerTokenPolicy(IEnumerable<string> readOnlyTokens, IEnumerable<string> adminTokens)
    {
        foreach (var token in readOnlyTokens) Register(token, ApiAccessLevel.ReadOnly);
        // Admin is registered last: a token listed twice gets the wider right it was also given.
        foreach (var token in adminTokens) Register(token, ApiAccessLevel.Admin);
        if (_levelByDigest.Count == 0)
            throw new ArgumentException("a bearer-token policy needs at least one read-only or admin token");
    }

    /// <summary>The level an operation needs: queries read-only, the rest (and any operation this policy does not know) admin.</summary>
    public static ApiAccessLevel Required(ApiOperation operation) => operation switch
    {
        ApiOperation.GetProcess or ApiOperation.GetLineage or ApiOperation.ListProcesses
            or ApiOperation.StreamEvents or ApiOperation.Replay or ApiOperation.GetHostStats or ApiOperation.ReadMetrics => ApiAccessLevel.ReadOnly,
        _ => ApiAccessLevel.Admin,
    };

    public override ApiAccessDecision Authorize(ApiCaller caller)
    {
        if (string.IsNullOrEmpty(caller.BearerToken))
            return ApiAccessDecision.Unauthenticated("this gateway requires a bearer token (Authorization: Bearer <token>; the CLI reads FORKLINE_TOKEN)");
        if (!_levelByDigest.TryGetValue(Digest(caller.BearerToken), out var level))
            return ApiAccessDecision.Unauthenticated("the bearer token is not one of this gateway's tokens");
        var required = Required(caller.Operation);
        return level >= required
            ? ApiAccessDecision.Allow
            : ApiAccessDecision.Denied($"{caller.Operation} needs an admin token; this token is read-only");
    }

    private void Register(string token, ApiAccessLevel level)
    {
        if (string.IsNullOrWhiteSpace(token)) throw new ArgumentException("an API token must not be empty or blank");
        _levelByDigest[Digest(token)] = level;
    }

    private static string Digest(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
