using System.Runtime.CompilerServices;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Queries;

namespace Forkline.Gateway.Api;

/// <summary>A host's collector runs with their loss accounting, and its latest gaps (oldest first).</summary>
public sealed record HostStats(IReadOnlyList<HostRunStats> Runs, IReadOnlyList<HostGap> Gaps);

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
    /// <summary>Gaps `stats` lists: the latest ones.</summary>
    public const int StatsGaps = 100;

    /// <summary>Gaps a replay interleaves at most: the latest of its window.</summary>
    public const int ReplayGaps = 10_000;

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
        return queries.StreamEventsAsync(filter, new StreamBacklog(admission.Limits.StreamBacklog, admission.Limits.StreamBacklogBytes), ct);
    }

    /// <summary>
    /// The persisted history of a host from <paramref name="from"/> to <paramref name="to"/> (now when null);
    /// with <paramref name="gaps"/>, each gap of the window comes before the first event after its start.
    /// </summary>
    public IAsyncEnumerable<StreamItem> Replay(string? host, DateTime? from, DateTime? to, CancellationToken ct, bool gaps = false)
    {
        var checkedHost = ApiInput.Host(host);
        if (from is not { } start) throw ApiRequestException.Invalid($"since is required: use {ApiTime.Forms}");
        var end = to ?? DateTime.UtcNow;
        ApiInput.Window(start, end, "since", "until");
        var events = queries.ReplayAsync(checkedHost, start, end, ct);
        return gaps ? WithGapsAsync(events, queries.GapsAsync(checkedHost, start, end, ReplayGaps, ct), ct) : events.AsItems(ct);
    }

    private static async IAsyncEnumerable<StreamItem> WithGapsAsync(
        IAsyncEnumerable<EnrichedEvent> events, Task<IReadOnlyList<HostGap>> gaps, [EnumeratorCancellation] CancellationToken ct)
    {
        var pending = new Queue<HostGap>(await gaps);
        await foreach (var enriched in events.WithCancellation(ct))
        {
            // The last event seen before a gap carries its start: the gap follows it.
            while (pending.TryPeek(out var gap) && gap.From < enriched.Time) yield return StreamItem.Of(pending.Dequeue());
            yield return StreamItem.Of(enriched);
        }
        while (pending.TryDequeue(out var gap)) yield return StreamItem.Of(gap);
    }

    public Task<HostStats> GetHostStatsAsync(string? host, CancellationToken ct)
    {
        var checkedHost = ApiInput.Host(host);
        return admission.RunAsync("GetHostStats", QueryWeight.Small, async token => new HostStats(
            await queries.GetHostStatsAsync(checkedHost, token),
            await queries.GapsAsync(checkedHost, DateTime.MinValue, DateTime.MaxValue, StatsGaps, token)), ct);
    }

    public Task<HostSnapshotResult> SnapshotHostAsync(string? host, CancellationToken ct)
    {
        var checkedHost = ApiInput.Host(host);
        return admission.RunAsync("SnapshotHost", QueryWeight.Small, token => queries.SnapshotHostAsync(checkedHost, token), ct);
    }

    private static ApiRequestException UnknownProcess(string execId) =>
        new(ApiErrorCode.NotFound, $"no process with exec_id '{execId}' is known to the gateway (live or in history)");
}
