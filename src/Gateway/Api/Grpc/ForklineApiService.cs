using Forkline.Contracts.Api;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Api.Http;
using Forkline.Gateway.Queries;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Forkline.Gateway.Api.Grpc;

/// <summary>
/// The API's methods on its messages: converts them, delegates to <see cref="ProcessApi"/>. gRPC serves them,
/// and HTTP/JSON on the routes of their google.api.http rules (<see cref="Http.HttpApiRoutes"/>).
/// </summary>
public sealed class ForklineApiService(ProcessApi api, ApiMessages messages, ApiShutdown shutdown) : ForklineApi.ForklineApiBase
{
    public override async Task<GetProcessResponse> GetProcess(GetProcessRequest request, ServerCallContext context)
    {
        var record = await api.GetProcessAsync(request.ExecId, context.CancellationToken);
        return new GetProcessResponse { Process = ApiMessages.ToProcess(record) };
    }

    public override async Task<GetLineageResponse> GetLineage(GetLineageRequest request, ServerCallContext context)
    {
        var depth = request.HasDescendantDepth ? request.DescendantDepth : (int?)null;
        return ApiMessages.ToLineage(await api.GetLineageAsync(request.ExecId, depth, context.CancellationToken, HttpServerCallContext.HoldOf(context)));
    }

    public override async Task<ListProcessesResponse> ListProcesses(ListProcessesRequest request, ServerCallContext context)
    {
        var query = new ProcessListQuery(
            request.Host,
            BinaryRegex: NullIfEmpty(request.BinaryRegex),
            Pid: request.HasPid ? request.Pid : null,
            Live: request.HasLive ? request.Live : null,
            StartedAfter: ToUtc(request.Since, "since"),
            StartedBefore: ToUtc(request.Until, "until"),
            Limit: request.Limit,
            Container: NullIfEmpty(request.Container),
            PodUid: NullIfEmpty(request.PodUid),
            Pod: NullIfEmpty(request.Pod),
            PodNamespace: NullIfEmpty(request.Namespace));
        return ApiMessages.ToProcessList(await api.ListProcessesAsync(query, context.CancellationToken, HttpServerCallContext.HoldOf(context)));
    }

    public override Task StreamEvents(StreamEventsRequest request, IServerStreamWriter<Event> responseStream, ServerCallContext context)
    {
        var filter = new EventStreamFilter(
            Hosts: request.Hosts.Count == 0 ? null : request.Hosts.ToHashSet(StringComparer.Ordinal),
            BinaryRegex: NullIfEmpty(request.BinaryRegex),
            Pid: request.HasPid ? request.Pid : null,
            ExecId: NullIfEmpty(request.ExecId),
            Kinds: ToKinds(request.Kinds),
            Container: NullIfEmpty(request.Container),
            PodUid: NullIfEmpty(request.PodUid),
            Pod: NullIfEmpty(request.Pod),
            PodNamespace: NullIfEmpty(request.Namespace));
        return WriteAllAsync(token => api.StreamEvents(filter, token), responseStream, context);
    }

    public override Task Replay(ReplayRequest request, IServerStreamWriter<Event> responseStream, ServerCallContext context)
    {
        var since = ToUtc(request.Since, "since");
        var until = ToUtc(request.Until, "until");
        return WriteAllAsync(token => api.Replay(request.Host, since, until, token, request.Gaps), responseStream, context);
    }

    public override async Task<GetHostStatsResponse> GetHostStats(GetHostStatsRequest request, ServerCallContext context) =>
        ApiMessages.ToHostStats(request.Host, await api.GetHostStatsAsync(request.Host, context.CancellationToken));

    public override async Task<SnapshotHostResponse> SnapshotHost(SnapshotHostRequest request, ServerCallContext context) =>
        ApiMessages.ToSnapshot(await api.SnapshotHostAsync(request.Host, context.CancellationToken));

    private async Task WriteAllAsync(
        Func<CancellationToken, IAsyncEnumerable<StreamItem>> open, IServerStreamWriter<Event> responseStream, ServerCallContext context)
    {
        using var streaming = shutdown.LinkedTo(context.CancellationToken);
        // Opening checks the request, so a bad one still gets its error status before the call is answered.
        var events = open(streaming.Token);
        // Headers go out now: a live stream may stay silent for long, and the caller should know it is connected.
        await context.WriteResponseHeadersAsync([]);
        // A caller that reads only each event's json (HTTP/JSON's NDJSON lines) is spared building the rest of it,
        // which would cost half as much again per event and three times the allocation.
        Func<StreamItem, Event> convert = HttpServerCallContext.ReadsOnly(context) is { FieldNumber: Event.JsonFieldNumber }
            ? item => new Event { Json = messages.ToJsonLine(item) }
            : messages.ToEvent;
        try
        {
            await foreach (var item in events.WithCancellation(streaming.Token))
                await responseStream.WriteAsync(convert(item), streaming.Token);
        }
        catch (OperationCanceledException) when (shutdown.IsStopping && !context.CancellationToken.IsCancellationRequested)
        {
            throw new ApiRequestException(ApiErrorCode.Unavailable, "the gateway is shutting down; reconnect to another gateway or retry");
        }
    }

    private static IReadOnlySet<EnrichedKind>? ToKinds(RepeatedField<EventKind> kinds)
    {
        if (kinds.Count == 0) return null;
        var set = new HashSet<EnrichedKind>();
        foreach (var kind in kinds) set.Add(ApiMessages.FromKind(kind));
        return set;
    }

    private static DateTime? ToUtc(Timestamp? timestamp, string field)
    {
        if (timestamp is null) return null;
        try
        {
            return timestamp.ToDateTime();
        }
        catch (InvalidOperationException)
        {
            throw ApiRequestException.Invalid(
                $"{field} {{seconds: {timestamp.Seconds}, nanos: {timestamp.Nanos}}} is not a valid timestamp (years 1 to 9999, nanos 0 to 999999999)");
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
