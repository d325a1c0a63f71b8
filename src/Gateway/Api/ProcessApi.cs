using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Queries;

namespace Forkline.Gateway.Api;

/// <summary>One page of a process list: at most the limit asked for, and whether more matched.</summary>
public sealed record ProcessList(IReadOnlyList<ProcessRecord> Processes, bool More);

/// <summary>
/// The API's operations independent of transport: checks every request value, then asks the
/// queries, the unary ones admitted by <see cref="QueryAdmission"/> (bounded concurrency by weight, a deadline)
/// and their replies bounded (list limit; descendants by the queries). Streams are checked when they are requested,
/// before the first event, so a transport can still answer a bad request with an error status.
/// </summary>
public sealed class ProcessApi(IProcessQueries queries, QueryAdmission admission)
{
    public async Task<ProcessRecord> GetProcessAsync(string? execId, CancellationToken ct)
    {
        var id = ApiInput.ExecId(execId);
        return await admission.RunAsync("GetProcess", QueryWeight.Small, token => queries.GetProcessAsync(id, token), ct) ?? throw UnknownProcess(id);
    }

    public async Task<LineageResult> GetLineageAsync(string? execId, int? descendantDepth, CancellationToken ct)
    {
        var id = ApiInput.ExecId(execId);
        var depth = ApiInput.DescendantDepth(descendantDepth);
        var weight = depth > ApiInput.DefaultDescendantDepth ? QueryWeight.Bulk : QueryWeight.Small;
        return await admission.RunAsync("GetLineage", weight, token => queries.GetLineageAsync(id, depth, token), ct) ?? throw UnknownProcess(id);
    }

    public async Task<ProcessList> ListProcessesAsync(ProcessListQuery query, CancellationToken ct)
    {
        ApiInput.Host(query.Host);
        ApiInput.BinaryRegex(query.BinaryRegex);
        ApiInput.Pid(query.Pid);
        ApiInput.Window(query.StartedAfter, query.StartedBefore, "since", "until");
        var limit = ApiInput.ListLimit(query.Limit);
        // One more than the page: whether it comes back says if there is a next page.
        var weight = limit > ApiInput.DefaultListLimit ? QueryWeight.Bulk : QueryWeight.Small;
        var found = await admission.RunAsync("ListProcesses", weight, token => queries.ListProcessesAsync(query with { Limit = limit + 1 }, token), ct);
        return found.Count > limit ? new ProcessList(found.Take(limit).ToList(), More: true) : new ProcessList(found, More: false);
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

    public Task<IReadOnlyList<HostRunStats>> GetHostStatsAsync(string? host, CancellationToken ct)
    {
        var checkedHost = ApiInput.Host(host);
        return admission.RunAsync("GetHostStats", QueryWeight.Small, token => queries.GetHostStatsAsync(checkedHost, token), ct);
    }

    public Task<HostSnapshotResult> SnapshotHostAsync(string? host, CancellationToken ct)
    {
        var checkedHost = ApiInput.Host(host);
        return admission.RunAsync("SnapshotHost", QueryWeight.Small, token => queries.SnapshotHostAsync(checkedHost, token), ct);
    }

    private static ApiRequestException UnknownProcess(string execId) =>
        new(ApiErrorCode.NotFound, $"no process with exec_id '{execId}' is known to the gateway (live or in history)");
}
