using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Api.Grpc;

/// <summary>
/// Turns every failure into a gRPC status with a message meant for the caller: request errors keep
/// their message, anything unexpected becomes INTERNAL with a generic message and a log entry.
/// Every error status is counted.
/// </summary>
public sealed class GrpcErrorInterceptor(ILogger<GrpcErrorInterceptor> log, ApiSettings settings) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception error) when (ToStatus(error, context) is { } failure)
        {
            throw failure;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception error) when (ToStatus(error, context) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Null leaves the exception as it is: the caller cancelled, so nobody reads a status.</summary>
    private RpcException? ToStatus(Exception error, ServerCallContext context)
    {
        if (error is OperationCanceledException && context.CancellationToken.IsCancellationRequested) return null;
        var (code, message) = error switch
        {
            ApiRequestException request => (request.Code, request.Message),
            _ => (ApiErrorCode.Internal, ApiErrorCodes.InternalErrorMessage(context.Method)),
        };
        if (code == ApiErrorCode.Internal)
            log.LogError(error, "gRPC {Method} failed unexpectedly", context.Method);
        settings.Metrics?.ApiError(code, ApiTransport.Grpc);
        if (!code.IsRetryable()) return new RpcException(new Status(code.GrpcStatus(), message));
        // gRPC's own retry hint: clients with a retry policy wait this long before trying again.
        var pushback = new Metadata { { "grpc-retry-pushback-ms", ((long)settings.Limits.RetryAfter.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) } };
        return new RpcException(new Status(code.GrpcStatus(), message), pushback);
    }
}
