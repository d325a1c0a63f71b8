using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Queries;

namespace Forkline.Gateway.Api;

/// <summary>
/// The API's operations independent of transport: checks every request value, then asks the
/// queries. Streams are checked when they are requested, before the first event, so a transport
/// can still answer a bad request with an error status.
/// </summary>
public sealed class ProcessApi(IProcessQueries queries)
{
    public async Task<ProcessRecord> GetProcessAsync(string? execId, CancellationToken ct)
    {
        var id = ApiInput.ExecId(execId);
        return await queries.GetProcessAsync(id, ct) ?? throw UnknownProcess(id);
    }

    public async Task<LineageResult> GetLineageAsync(string? execId, int? descendantDepth, CancellationToken ct)
    {
        var id = ApiInput.ExecId(execId);
        var depth = ApiInput.DescendantDepth(descendantDepth);
        return await queries.GetLineageAsync(id, depth, ct) ?? throw UnknownProcess(id);
    }

    public Task<IReadOnlyList<ProcessRecord>> ListProcessesAsync(ProcessListQuery query, CancellationToken ct)
    {
        ApiInput.Host(query.Host);
        ApiInput.BinaryRegex(query.BinaryRegex);
        ApiInput.Pid(query.Pid);
        ApiInput.Window(query.StartedAfter, query.StartedBefore, "since", "until");
        var checkedQuery = query with { Limit = ApiInput.ListLimit(query.Limit) };
        return queries.ListProcessesAsync(checkedQuery, ct);
    }

    public IAsyncEnumerable<StreamItem> StreamEvents(EventStreamFilter filter, CancellationToken ct)
    {
        ApiInput.BinaryRegex(filter.BinaryRegex);
        ApiInput.Pid(filter.Pid);
        if (filter.ExecId is not null) ApiInput.ExecId(filter.ExecId);
        return queries.StreamEventsAsync(filter, ct);
    }

    /// <summary>The persisted history of a host from <paramref name="from"/> to <paramref name="to"/> (now when null).</summary>
    public IAsyncEnumerable<EnrichedEvent> Replay(string? host, DateTime? from, DateTime? to, CancellationToken ct)
    {
        var checkedHost = ApiInput.Host(host);
        if (from is not { } start) throw ApiRequestException.Invalid($"since is required: use {ApiTime.Forms}");
        var end = to ?? DateTime.UtcNow;
        ApiInput.Window(start, end, "since", "until");
        return queries.ReplayAsync(checkedHost, start, end, ct);
    }

    public Task<IReadOnlyList<HostRunStats>> GetHostStatsAsync(string? host, CancellationToken ct) =>
        queries.GetHostStatsAsync(ApiInput.Host(host), ct);

    public Task<HostSnapshotResult> SnapshotHostAsync(string? host, CancellationToken ct) =>
        queries.SnapshotHostAsync(ApiInput.Host(host), ct);

    private static ApiRequestException UnknownProcess(string execId) =>
        new(ApiErrorCode.NotFound, $"no process with exec_id '{execId}' is known to the gateway (live or in history)");
}
