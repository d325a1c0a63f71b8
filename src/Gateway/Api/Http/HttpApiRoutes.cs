using System.Buffers;
using System.Text;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Queries;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Forkline.Gateway.Api.Http;

/// <summary>
/// The HTTP/JSON transport. Bodies are the gRPC messages in their JSON form (<see cref="ApiJson"/>);
/// event streams are NDJSON, one live-export line per event. An exec_id may contain '/', so the
/// routes that take one capture the rest of the path; a client may also send it URL-encoded.
/// </summary>
public static class HttpApiRoutes
{
    private const string NdjsonContentType = "application/x-ndjson";

    // Replay can send millions of lines, a large reply several MB: flush in chunks of about this size.
    private const int ReplayFlushBytes = 64 * 1024;

    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => Results.Text("ok\n"));
        routes.MapGet("/readyz", (ApiSettings settings) =>
            settings.IsReady() ? Results.Text("ready\n") : Results.Text("not ready\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        // Behind the policy like the queries: with tokens (a fleet gateway) the read-only token is needed.
        routes.MapGet("/metrics", (Delegate)(Func<HttpContext, Task>)WriteMetricsAsync).Authorized(ApiOperation.ReadMetrics);

        var api = routes.MapGroup("/api/v1");
        api.MapGet("/processes/{**execId}", GetProcessAsync).Authorized(ApiOperation.GetProcess);
        api.MapGet("/lineage/{**execId}", GetLineageAsync).Authorized(ApiOperation.GetLineage);
        api.MapGet("/hosts/{host}/processes", ListProcessesAsync).Authorized(ApiOperation.ListProcesses);
        api.MapGet("/events", StreamEventsAsync).Authorized(ApiOperation.StreamEvents);
        api.MapGet("/hosts/{host}/replay", ReplayAsync).Authorized(ApiOperation.Replay);
        api.MapGet("/hosts/{host}/stats", GetHostStatsAsync).Authorized(ApiOperation.GetHostStats);
        api.MapPost("/hosts/{host}/snapshot", SnapshotHostAsync).Authorized(ApiOperation.SnapshotHost);
    }

    private static async Task<IResult> GetProcessAsync(string? execId, ProcessApi api, HttpContext context)
    {
        var record = await api.GetProcessAsync(Uri.UnescapeDataString(execId ?? ""), context.RequestAborted);
        return Json(new Contracts.Api.GetProcessResponse { Process = ApiMessages.ToProcess(record) });
    }

    private static async Task<IResult> GetLineageAsync(string? execId, ProcessApi api, HttpContext context)
    {
        var depth = context.Request.Query.Int("depth");
        var lineage = await api.GetLineageAsync(Uri.UnescapeDataString(execId ?? ""), depth, context.RequestAborted);
        return Json(ApiMessages.ToLineage(lineage));
    }

    private static async Task<IResult> GetHostStatsAsync(string host, ProcessApi api, HttpContext context) =>
        Json(ApiMessages.ToHostStats(host, await api.GetHostStatsAsync(host, context.RequestAborted)));

    private static async Task<IResult> SnapshotHostAsync(string host, ProcessApi api, HttpContext context) =>
        Json(ApiMessages.ToSnapshot(await api.SnapshotHostAsync(host, context.RequestAborted)));

    private static async Task<IResult> ListProcessesAsync(string host, ProcessApi api, HttpContext context)
    {
        var query = context.Request.Query;
        var listQuery = new ProcessListQuery(
            host,
            BinaryRegex: query.Text("binary"),
            Pid: query.Int("pid"),
            Live: query.Bool("live"),
            StartedAfter: query.Time("since"),
            StartedBefore: query.Time("until"),
            Limit: query.Int("limit") ?? 0,
            Container: query.Text("container"),
            PodUid: query.Text("pod_uid"),
            Pod: query.Text("pod"),
            PodNamespace: query.Text("namespace"));
        return Json(ApiMessages.ToProcessList(await api.ListProcessesAsync(listQuery, context.RequestAborted)));
    }

    private static Task StreamEventsAsync(ProcessApi api, ApiMessages messages, ApiShutdown shutdown, HttpContext context)
    {
        var query = context.Request.Query;
        var hosts = query.List("host");
        var filter = new EventStreamFilter(
            Hosts: hosts is null ? null : hosts.ToHashSet(StringComparer.Ordinal),
            BinaryRegex: query.Text("binary"),
            Pid: query.Int("pid"),
            ExecId: query.Text("exec_id"),
            Kinds: query.EventTypes("type"),
            Container: query.Text("container"),
            PodUid: query.Text("pod_uid"),
            Pod: query.Text("pod"),
            PodNamespace: query.Text("namespace"));
        return WriteNdjsonAsync(context, token => api.StreamEvents(filter, token), messages, shutdown, flushBytes: 0);
    }

    private static Task ReplayAsync(string host, ProcessApi api, ApiMessages messages, ApiShutdown shutdown, HttpContext context)
    {
        var since = context.Request.Query.Time("since");
        var until = context.Request.Query.Time("until");
        var gaps = context.Request.Query.Bool("gaps") ?? false;
        return WriteNdjsonAsync(context, token => api.Replay(host, since, until, token, gaps), messages, shutdown, ReplayFlushBytes);
    }

    /// <summary>
    /// Writes one JSON line per event, and Tetragon's rate_limit_info line where a live stream missed events;
    /// flushes whenever at least <paramref name="flushBytes"/> are pending.
    /// </summary>
    private static async Task WriteNdjsonAsync(
        HttpContext context, Func<CancellationToken, IAsyncEnumerable<StreamItem>> open, ApiMessages messages,
        ApiShutdown shutdown, int flushBytes)
    {
        using var streaming = shutdown.LinkedTo(context.RequestAborted);
        // Opening checks the request, so a bad one still gets its error status before any body is sent.
        var events = open(streaming.Token);
        context.Response.ContentType = NdjsonContentType;
        var body = context.Response.BodyWriter;
        var pending = 0;
        try
        {
            // Headers go out now: a live stream may stay silent for long, and the caller should know it is connected.
            await body.FlushAsync(streaming.Token);
            await foreach (var item in events.WithCancellation(streaming.Token))
            {
                var line = messages.ToJsonLine(item);
                var span = body.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length) + 1);
                var written = Encoding.UTF8.GetBytes(line, span);
                span[written] = (byte)'\n';
                body.Advance(written + 1);
                pending += written + 1;
                if (pending < flushBytes) continue;
                await body.FlushAsync(streaming.Token);
                pending = 0;
            }
            await body.FlushAsync(streaming.Token);
        }
        catch (OperationCanceledException) when (streaming.IsCancellationRequested)
        {
            // The caller hung up or the server is stopping: the stream simply ends here.
        }
    }

    private static async Task WriteMetricsAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    }

    private static IResult Json(IMessage message) => new JsonMessageResult(message);

    /// <summary>
    /// A reply in its JSON form, written to the body in pieces. A page or lineage of 10,000 processes is
    /// several MB of JSON: formatted into one string and then one byte array, each such reply put two objects of
    /// several MB on the large-object heap, which only full collections reclaim. A StringBuilder's chunks are small.
    /// </summary>
    private sealed class JsonMessageResult(IMessage message) : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            var text = new StringBuilder();
            using (var writer = new StringWriter(text)) ApiJson.Formatter.Format(message, writer);
            context.Response.ContentType = "application/json; charset=utf-8";
            var body = context.Response.BodyWriter;
            var pending = 0;
            foreach (var chunk in text.GetChunks())
            {
                var span = body.GetSpan(Encoding.UTF8.GetMaxByteCount(chunk.Length));
                var written = Encoding.UTF8.GetBytes(chunk.Span, span);
                body.Advance(written);
                pending += written;
                if (pending < ReplayFlushBytes) continue;
                await body.FlushAsync(context.RequestAborted);
                pending = 0;
            }
            await body.FlushAsync(context.RequestAborted);
        }
    }

    private static RouteHandlerBuilder Authorized(this RouteHandlerBuilder route, ApiOperation operation) =>
        route.AddEndpointFilter((invocation, next) =>
        {
            var http = invocation.HttpContext;
            http.RequestServices.GetRequiredService<ApiAccessPolicy>().Demand(new ApiCaller(
                operation,
                ApiCaller.BearerTokenOf(http.Request.Headers.Authorization.ToString()),
                http.Connection.ClientCertificate));
            return next(invocation);
        });
}
