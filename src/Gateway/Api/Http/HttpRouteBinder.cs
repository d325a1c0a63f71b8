using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Forkline.Gateway.Api.Http;

/// <summary>
/// Serves over HTTP/JSON each method of a gRPC service that its .proto gives an HTTP rule (<see cref="HttpApiRoute"/>),
/// by running the method's gRPC implementation: the service's generated BindService hands every method and its
/// handler to this binder, as it does to the gRPC server. A unary reply is the message in its JSON form
/// (<see cref="ApiJson"/>), a streamed one NDJSON (<see cref="NdjsonLineWriter{TMessage}"/>). Failures reach
/// <see cref="HttpErrorMiddleware"/>, which answers them as every HTTP error is answered.
/// </summary>
internal sealed class HttpRouteBinder(IEndpointRouteBuilder routes, ServiceDescriptor service) : ServiceBinderBase
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
    {
        if (RouteOf(method, handler) is not { } route) return;
        Map(route, async http =>
        {
            var response = await handler!(route.Read<TRequest>(http.Request), new HttpServerCallContext(http, method.FullName));
            await Results.Text(ApiJson.Formatter.Format((IMessage)response), "application/json", Encoding.UTF8).ExecuteAsync(http);
        });
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
    {
        if (RouteOf(method, handler) is not { } route) return;
        Map(route, http =>
        {
            var request = route.Read<TRequest>(http.Request);
            http.Response.ContentType = NdjsonLineWriter<TResponse>.ContentType;
            return handler!(request, new NdjsonLineWriter<TResponse>(http, route.LineField!, route.FlushBytes), new HttpServerCallContext(http, method.FullName, route.LineField));
        });
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        RefuseIfRouted(method);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        RefuseIfRouted(method);

    private HttpApiRoute? RouteOf(IMethod method, Delegate? handler)
    {
        var route = HttpApiRoute.Of(service.FindMethodByName(method.Name));
        if (route is not null && handler is null) throw new ArgumentNullException(nameof(handler), $"{method.FullName} has an HTTP route but no implementation to run");
        return route;
    }

    private void RefuseIfRouted(IMethod method)
    {
        if (HttpApiRoute.Of(service.FindMethodByName(method.Name)) is not null)
            throw new NotSupportedException($"HTTP/JSON cannot serve {method.FullName}: requests are read from the path and the query string, so a client stream has no HTTP form");
    }

    private void Map(HttpApiRoute route, RequestDelegate serve) =>
        routes.MapMethods(route.Pattern, [route.Verb], http =>
        {
            HttpApiRoutes.Demand(http, route.Operation);
            return serve(http);
        });
}
