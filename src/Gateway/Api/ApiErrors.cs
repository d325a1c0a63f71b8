using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Forkline.Gateway.Api;

/// <summary>Why the API refused or failed a request; each code has one HTTP status and one gRPC status.</summary>
public enum ApiErrorCode
{
    InvalidArgument,
    NotFound,
    Unauthenticated,
    PermissionDenied,
    Unavailable,
    /// <summary>Too much work in flight: the caller should retry after the hint.</summary>
    ResourceExhausted,
    Internal,
}

/// <summary>A request the API answers with an error status; the message is shown to the caller as is.</summary>
public sealed class ApiRequestException(ApiErrorCode code, string message) : Exception(message)
{
    public ApiErrorCode Code { get; } = code;

    public static ApiRequestException Invalid(string message) => new(ApiErrorCode.InvalidArgument, message);
}

public static class ApiErrorCodes
{
    public static int HttpStatus(this ApiErrorCode code) => code switch
    {
        ApiErrorCode.InvalidArgument => StatusCodes.Status400BadRequest,
        ApiErrorCode.NotFound => StatusCodes.Status404NotFound,
        ApiErrorCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        ApiErrorCode.PermissionDenied => StatusCodes.Status403Forbidden,
        ApiErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ApiErrorCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static StatusCode GrpcStatus(this ApiErrorCode code) => code switch
    {
        ApiErrorCode.InvalidArgument => StatusCode.InvalidArgument,
        ApiErrorCode.NotFound => StatusCode.NotFound,
        ApiErrorCode.Unauthenticated => StatusCode.Unauthenticated,
        ApiErrorCode.PermissionDenied => StatusCode.PermissionDenied,
        ApiErrorCode.Unavailable => StatusCode.Unavailable,
        ApiErrorCode.ResourceExhausted => StatusCode.ResourceExhausted,
        _ => StatusCode.Internal,
    };

    /// <summary>The metric label and the "code" of an HTTP error body: invalid_argument, not_found, ...</summary>
    public static string Label(this ApiErrorCode code) => code switch
    {
        ApiErrorCode.InvalidArgument => "invalid_argument",
        ApiErrorCode.NotFound => "not_found",
        ApiErrorCode.Unauthenticated => "unauthenticated",
        ApiErrorCode.PermissionDenied => "permission_denied",
        ApiErrorCode.Unavailable => "unavailable",
        ApiErrorCode.ResourceExhausted => "resource_exhausted",
        _ => "internal",
    };

    /// <summary>Whether the caller should be told when to retry (Retry-After, grpc-retry-pushback-ms).</summary>
    public static bool IsRetryable(this ApiErrorCode code) => code is ApiErrorCode.Unavailable or ApiErrorCode.ResourceExhausted;

    /// <summary>What a caller sees for a failure the API did not anticipate; the details go to the log only.</summary>
    public static string InternalErrorMessage(string operation) =>
        $"internal error while serving {operation}; the gateway log has the details";
}

public enum ApiTransport
{
    Grpc,
    Http,
}
