using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Forkline.Gateway.Api.Http;

/// <summary>
/// The call context of a gRPC method run for an HTTP request: its cancellation is the request's, and writing
/// the response headers sends the HTTP ones. The HTTP transport asks the access policy itself
/// (<see cref="HttpApiRoutes.Demand"/>), so a method that reads gRPC metadata or credentials is refused loudly
/// rather than served without them.
/// </summary>
internal sealed class HttpServerCallContext : ServerCallContext
{
    private readonly HttpContext _http;
    private readonly string _method;
    private readonly FieldDescriptor? _readsOnly;
    private readonly SlotHold? _hold;

    /// <param name="readsOnly">The one field of each reply message the HTTP reply is made of (a stream's line field), if only one.</param>
    /// <param name="hold">Keeps the slot of the method's query until the transport has formatted its reply.</param>
    public HttpServerCallContext(HttpContext http, string method, FieldDescriptor? readsOnly = null, SlotHold? hold = null)
    {
        _http = http;
        _method = method;
        _readsOnly = readsOnly;
        _hold = hold;
    }

    /// <summary>The one field of each reply the caller reads, when <paramref name="context"/> is an HTTP request's: the method may leave the rest unset.</summary>
    public static FieldDescriptor? ReadsOnly(ServerCallContext context) => (context as HttpServerCallContext)?._readsOnly;

    /// <summary>What keeps the query's slot until the reply is formatted, when <paramref name="context"/> is an HTTP request's (gRPC's binary form costs little).</summary>
    public static SlotHold? HoldOf(ServerCallContext context) => (context as HttpServerCallContext)?._hold;

    protected override string MethodCore => _method;

    protected override string HostCore => _http.Request.Host.Value ?? "";

    protected override string PeerCore => $"{_http.Connection.RemoteIpAddress}:{_http.Connection.RemotePort}";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => throw NotOverHttp("request metadata");

    protected override CancellationToken CancellationTokenCore => _http.RequestAborted;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => throw NotOverHttp("the gRPC auth context");

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw NotOverHttp("context propagation");

    protected override async Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        foreach (var header in responseHeaders)
            if (!header.IsBinary) _http.Response.Headers.Append(header.Key, header.Value);
        await _http.Response.BodyWriter.FlushAsync(_http.RequestAborted);
    }

    private NotSupportedException NotOverHttp(string what) =>
        new($"{_method} read {what}, which an HTTP/JSON request does not have; serve it over gRPC only (no google.api.http rule)");
}
