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
            StringBuilder text;
            // The query's slot is held until its reply is formatted (SlotHold): formatting a reply of 10,000 processes
            // costs as much CPU as the query, so it counts against the query's lane.
            using (var hold = new SlotHold())
            {
                var response = await handler!(route.Read<TRequest>(http.Request), new HttpServerCallContext(http, method.FullName, hold: hold));
                text = FormatJson((IMessage)response);
            }
            await SendJsonAsync(http, text);
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

    /// <summary>
    /// A reply in its JSON form. A page or lineage of 10,000 processes is several MB of JSON: formatted into one
    /// string and then one byte array, each such reply put two objects of several MB on the large-object heap,
    /// which only full collections reclaim. A StringBuilder's chunks are small.
    /// </summary>
    private static StringBuilder FormatJson(IMessage message)
    {
        var text = new StringBuilder();
        using var writer = new StringWriter(text);
        ApiJson.Formatter.Format(message, writer);
        return text;
    }

    /// <summary>Sends a reply formatted by <see cref="FormatJson"/>, in pieces.</summary>
    private static async Task SendJsonAsync(HttpContext http, StringBuilder text)
    {
        const int flushBytes = 64 * 1024;
        http.Response.ContentType = "application/json; charset=utf-8";
        var body = http.Response.BodyWriter;
        var pending = 0;
        foreach (var chunk in text.GetChunks())
        {
            var span = body.GetSpan(Encoding.UTF8.GetMaxByteCount(chunk.Length));
            var written = Encoding.UTF8.GetBytes(chunk.Span, span);
            body.Advance(written);
            pending += written;
            if (pending < flushBytes) continue;
            await body.FlushAsync(http.RequestAborted);
            pending = 0;
        }
        await body.FlushAsync(http.RequestAborted);
    }

    private void Map(HttpApiRoute route, RequestDelegate serve) =>
        routes.MapMethods(route.Pattern, [route.Verb], http =>
        {
            HttpApiRoutes.Demand(http, route.Operation);
            return serve(http);
        });
}
