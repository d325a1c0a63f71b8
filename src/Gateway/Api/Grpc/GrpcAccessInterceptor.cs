using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Forkline.Gateway.Api.Grpc;

/// <summary>Asks the access policy before any gRPC method of the API runs.</summary>
public sealed class GrpcAccessInterceptor(ApiAccessPolicy policy) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        policy.Demand(CallerOf(context));
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        policy.Demand(CallerOf(context));
        return continuation(request, responseStream, context);
    }

    private static ApiCaller CallerOf(ServerCallContext context)
    {
        // context.Method is "/forkline.api.v1.ForklineApi/GetProcess"; the last segment names the operation.
        var method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        if (!Enum.TryParse<ApiOperation>(method, out var operation))
            throw new ApiRequestException(ApiErrorCode.PermissionDenied, $"method '{context.Method}' is not an API operation");
        return new ApiCaller(
            operation,
            ApiCaller.BearerTokenOf(context.RequestHeaders.GetValue("authorization")),
            context.GetHttpContext().Connection.ClientCertificate);
    }
}
