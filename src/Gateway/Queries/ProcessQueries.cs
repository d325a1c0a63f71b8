using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Accounting;
using Forkline.Contracts.Wire;
using Forkline.Export;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;

namespace Forkline.Gateway.Queries;

/// <summary>
/// <see cref="IProcessQueries"/> over a gateway node: live state from the host entities (through the
/// shard region, wherever the entity lives), the past from the history table and the journal.
/// </summary>
public sealed class ProcessQueries : IProcessQueries
{
    public const int MaxDescendantDepth = 1024;

    /// <summary>Descendants a lineage returns at most (breadth-first); more are cut and the lineage says so.</summary>
    public const int MaxDescendants = 10_000;
    public const int MaxListLimit = 100_000;

    /// <summary>How often a query looks whether the history table has caught up with a host entity (one indexed read).</summary>
    private static readonly TimeSpan CatchUpPoll = TimeSpan.FromMilliseconds(50);

    private readonly IActorRef _hostTrees;
    private readonly IActorRef _liveHub;
    private readonly HistoryStore _history;
    /// <summary>
    /// Made at the first replay: Akka's SQL read journal starts an actor that polls the journal's newest
    /// ordering from its construction on, for its queries by tag or over all events; a replay reads a range
    /// by persistence id and never asks it. Until a replay is asked for, a node does not poll the journal.
    /// </summary>
    private readonly Lazy<SqlReadJournal> _journal;
    private readonly IMaterializer _materializer;
    private readonly TimeSpan _askTimeout;

    public ProcessQueries(ActorSystem system, IActorRef hostTrees, IActorRef liveHub, HistoryStore history, TimeSpan askTimeout)
    {
        _hostTrees = hostTrees;
        _liveHub = liveHub;
        _history = history;
        _askTimeout = askTimeout;
        _journal = new Lazy<SqlReadJournal>(() => PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier));
        _materializer = system.Materializer();
    }

    public async Task<ProcessRecord?> GetProcessAsync(string execId, CancellationToken ct)
    {
        var id = LiveEventFilter.ParseExecId(execId);
        var live = await AskEntityAsync(new GetLiveLineage { Host = id.Node, ExecId = WireConverter.ToWire(id), ProcessOnly = true }, ct);
        if (live.Process is not null) return ProcessRecords.From(WireConverter.ToTreeProcess(live.Process));
        var stored = await _history.GetAsync(execId, ct);
        if (!EndedUnrecorded(stored)) return stored;
        await CatchUpAsync(id.Node, live.JournaledUpTo, ct);
        return await _history.GetAsync(execId, ct);
    }

    public async Task<LineageResult?> GetLineageAsync(string execId, int descendantDepth, CancellationToken ct)
    {
        if (descendantDepth is < 0 or > MaxDescendantDepth)
            throw new ArgumentOutOfRangeException(nameof(descendantDepth), descendantDepth, $"descendant depth must be 0..{MaxDescendantDepth}");
        var id = LiveEventFilter.ParseExecId(execId);
        var live = await AskEntityAsync(new GetLiveLineage { Host = id.Node, ExecId = WireConverter.ToWire(id), DescendantDepth = descendantDepth }, ct);
        if (live.Process is null) return await HistoryLineageAsync(execId, descendantDepth, live.JournaledUpTo, ct);

        var (ancestors, descendants) = await TreeLineageFromHistoryAsync(live, execId, descendantDepth, ct);
        if (ancestors.Any(EndedUnrecorded) || descendants.Values.Any(d => EndedUnrecorded(d.Process)))
        {
            await CatchUpAsync(id.Node, live.JournaledUpTo, ct);
            (ancestors, descendants) = await TreeLineageFromHistoryAsync(live, execId, descendantDepth, ct);
        }
        return Bounded(ProcessRecords.From(WireConverter.ToTreeProcess(live.Process)), ancestors, descendants.Values);
    }

    /// <summary>A lineage the tree holds, completed by the history: the ancestors beyond the tree, the descendants it retired.</summary>
    private async Task<(List<ProcessRecord> Ancestors, Dictionary<string, HistoryDescendant> Descendants)> TreeLineageFromHistoryAsync(
        LiveLineage live, string execId, int descendantDepth, CancellationToken ct)
    {
        var ancestors = await AncestorsOfAsync(live, ct);
        // Ended descendants may already be retired from the tree; the history table still has them.
        var descendants = new Dictionary<string, HistoryDescendant>();
        foreach (var found in await _history.DescendantsAsync(execId, descendantDepth, MaxDescendants + 1, ct)) descendants[found.Process.ExecId] = found;
        foreach (var found in live.Descendants)
        {
            var record = ProcessRecords.From(WireConverter.ToTreeProcess(found.Process));
            descendants[record.ExecId] = new HistoryDescendant(record, found.Depth);
        }
        return (ancestors, descendants);
    }

    public async Task<IReadOnlyList<ProcessRecord>> ListProcessesAsync(ProcessListQuery query, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(query.Host)) throw new ArgumentException("a host is required to list processes", nameof(query));
        if (query.Limit is < 1 or > MaxListLimit)
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, $"limit must be 1..{MaxListLimit}");
        if (query.StartedAfter > query.StartedBefore)
            throw new ArgumentException($"startedAfter {query.StartedAfter:O} is later than startedBefore {query.StartedBefore:O}", nameof(query));
        var binary = BinaryPattern.Parse(query.BinaryRegex);
        bool Wanted(ProcessRecord record) =>
            (query.Pid is null || record.Pid == query.Pid)
            && (query.StartedAfter is null || record.StartTime >= query.StartedAfter)
            && (query.StartedBefore is null || record.StartTime < query.StartedBefore)
            && (binary is null || binary.Matches(record.Binary))
            && query.MatchesContainer(record.Container);

        var tree = await AskEntityAsync(new ListLiveProcesses { Host = query.Host }, ct);
        var fromTree = new List<ProcessRecord>();
        var inTree = new HashSet<string>();
        foreach (var process in tree.Processes)
        {
            var record = ProcessRecords.From(WireConverter.ToTreeProcess(process));
            inTree.Add(record.ExecId);
            if (Wanted(record) && (query.Live is null || record.Live == query.Live)) fromTree.Add(record);
        }
        var selected = await WithHistoryAsync(fromTree);
        if (selected.Exists(EndedUnrecorded))
        {
            await CatchUpAsync(query.Host, tree.JournaledUpTo, ct);
            selected = await WithHistoryAsync(fromTree);
        }
        selected.Sort(static (a, b) => a.StartTime.CompareTo(b.StartTime));
        return selected.Count > query.Limit ? selected[..query.Limit] : selected;

        async Task<List<ProcessRecord>> WithHistoryAsync(List<ProcessRecord> live)
        {
            var all = new List<ProcessRecord>(live);
            if (query.Live == true || all.Count >= query.Limit) return all;
            await foreach (var record in _history.ListAsync(query.Host, query.Pid, query.StartedAfter, query.StartedBefore, ct, query.Container, query.PodUid, query.Pod, query.PodNamespace))
            {
                if (inTree.Contains(record.ExecId) || !Wanted(record)) continue;
                all.Add(record);
                if (all.Count >= query.Limit) break;
            }
            return all;
        }
    }

    public async IAsyncEnumerable<StreamItem> StreamEventsAsync(EventStreamFilter filter, StreamBacklog backlog, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var subscription = await SubscribeAsync(filter, backlog, ct);
        await foreach (var item in subscription.ReadAllAsync(ct)) yield return item;
    }

    /// <summary>A live subscription with the default backlog (<see cref="SubscribeAsync(EventStreamFilter, StreamBacklog, CancellationToken)"/>).</summary>
    public Task<LiveSubscription> SubscribeAsync(EventStreamFilter filter, CancellationToken ct) =>
        SubscribeAsync(filter, StreamBacklog.Default, ct);

    /// <summary>
    /// Registers a live subscription and returns once it receives events (StreamEventsAsync registers
    /// lazily, on the first MoveNext; tests that must not miss an event use this).
    /// </summary>
    public async Task<LiveSubscription> SubscribeAsync(EventStreamFilter filter, StreamBacklog backlog, CancellationToken ct)
    {
        var compiled = new LiveEventFilter(filter);
        var queue = new SubscriberQueue(backlog);
        var id = Guid.NewGuid();
        await _liveHub.Ask<LiveEventHub.Subscribed>(new LiveEventHub.Subscribe(id, compiled, queue), _askTimeout, ct);
        return new LiveSubscription(queue, compiled, () => _liveHub.Tell(new LiveEventHub.Unsubscribe(id)));
    }

    public async IAsyncEnumerable<EnrichedEvent> ReplayAsync(string host, DateTime from, DateTime to, [EnumeratorCancellation] CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(host)) throw new ArgumentException("a host is required to replay its history", nameof(host));
        from = AsUtc(from);
        to = AsUtc(to);
        if (from > to) throw new ArgumentException($"replay window is empty: from {from:O} is later than to {to:O}", nameof(from));

        var persistenceId = HostTreeEntity.PersistenceIdOf(host);
        foreach (var (first, last) in await _history.JournalRangesAsync(host, from, to, ct))
        {
            var entries = _journal.Value.CurrentEventsByPersistenceId(persistenceId, first, last).RunAsAsyncEnumerable(_materializer);
            await foreach (var entry in entries.WithCancellation(ct))
            {
                if (entry.Event is not HostEventsPersisted persisted) continue;
                foreach (var wire in persisted.Events)
                {
                    if (wire.Kind == WireEventKind.Hook) continue;
                    var time = WireConverter.FromUnixTicks(wire.TimeUnixTicks);
                    if (time >= from && time <= to) yield return WireConverter.ToEnriched(wire);
                }
            }
        }
    }

    /// <summary>The ancestors of a process the tree holds: those the tree holds too, then the history from where the tree stops.</summary>
    private async Task<List<ProcessRecord>> AncestorsOfAsync(LiveLineage live, CancellationToken ct)
    {
        var ancestors = new List<ProcessRecord>();
        foreach (var ancestor in live.Ancestors) ancestors.Add(ProcessRecords.From(WireConverter.ToTreeProcess(ancestor)));
        // The tree holds every live process, so the history from here on holds ended ones only.
        if (live.AncestorsContinueAt is { } continueAt)
            ancestors.AddRange(await _history.ChainFromAsync(WireConverter.ToExecId(continueAt).Encode(), ct));
        return ancestors;
    }

    /// <summary>
    /// A process the tree no longer holds: its chain and descendants from the history table, whose rows
    /// never say running. A row the history still has open (no end) may be running, so the tree is asked
    /// for those in one request, and what it holds is shown as it holds it (running ancestors and
    /// descendants shown running).
    /// </summary>
    /// <remarks>
    /// A row without an end that the tree does not hold ended in a journal entry the projection has not
    /// applied yet (it follows the journal a poll behind): the history is read again once it has caught
    /// up with the entity's answer. <paramref name="journaledUpTo"/> is that of the entity's first answer, which did not hold the process.
    /// </remarks>
    private async Task<LineageResult?> HistoryLineageAsync(string execId, int descendantDepth, long journaledUpTo, CancellationToken ct)
    {
        for (var caughtUp = false; ; caughtUp = true)
        {
            var chain = await _history.ChainFromAsync(execId, ct);
            if (chain.Count == 0) return null;
            var descendants = await _history.DescendantsAsync(execId, descendantDepth, MaxDescendants + 1, ct);
            var request = new GetLiveProcesses { Host = chain[0].Host };
            foreach (var record in chain.Skip(1)) AskIfOpen(request, record);
            foreach (var descendant in descendants) AskIfOpen(request, descendant.Process);
            var held = new Dictionary<string, ProcessRecord>();
            if (request.ExecIds.Count > 0)
            {
                var reply = await AskEntityAsync<LiveProcessList>(request, ct);
                journaledUpTo = Math.Max(journaledUpTo, reply.JournaledUpTo);
                foreach (var process in reply.Processes)
                {
                    var record = ProcessRecords.From(WireConverter.ToTreeProcess(process));
                    held[record.ExecId] = record;
                }
            }
            ProcessRecord AsHeld(ProcessRecord record) => held.GetValueOrDefault(record.ExecId, record);
            var ancestors = chain.Skip(1).Select(AsHeld).ToList();
            var found = descendants.Select(d => d with { Process = AsHeld(d.Process) }).ToList();
            if (caughtUp || !(EndedUnrecorded(chain[0]) || ancestors.Exists(EndedUnrecorded) || found.Exists(d => EndedUnrecorded(d.Process))))
                return Bounded(chain[0], ancestors, found);
            await CatchUpAsync(chain[0].Host, journaledUpTo, ct);
        }
    }

    /// <summary>
    /// A history row without an end that the tree did not hold when asked: the tree holds every live
    /// process, so it has ended, in a journal entry the history has not applied yet (or it started after the tree answered).
    /// </summary>
    /// <remarks>
    /// A row with an exit time has its end, whatever its end kind: rows stored before the end_kind column
    /// have none. Taken for unrecorded, every lineage over them waited for the projection and read the
    /// history twice (the API benchmark's 100,000 rows are such rows).
    /// </remarks>
    private static bool EndedUnrecorded(ProcessRecord? record) => record is { Live: false, End: ProcessEndKind.None, ExitTime: null };

    /// <summary>
    /// Waits until the history table has applied the host's journal up to <paramref name="journaledUpTo"/>,
    /// what the entity had journaled when it answered: then the history knows every end the entity knew.
    /// </summary>
    private async Task CatchUpAsync(string host, long journaledUpTo, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        long projected;
        while ((projected = await _history.ProjectedUpToAsync(host, ct)) < journaledUpTo)
        {
            if (waited.Elapsed >= _askTimeout)
                throw new TimeoutException($"the history table of host {host} did not catch up with its live tree within {_askTimeout.TotalSeconds:0.#} s " +
                                           $"(applied up to journal entry {projected}, the tree answered at {journaledUpTo}): is the history projection running and the database taking writes?");
            await Task.Delay(CatchUpPoll, ct);
        }
    }

    private static void AskIfOpen(GetLiveProcesses request, ProcessRecord record)
    {
        if (record.ExitTime is null) request.ExecIds.Add(WireConverter.ToWire(LiveEventFilter.ParseExecId(record.ExecId)));
    }

    /// <summary>The descendants breadth-first (by depth, then start time), cut to <see cref="MaxDescendants"/>.</summary>
    private static LineageResult Bounded(ProcessRecord process, IReadOnlyList<ProcessRecord> ancestors, IEnumerable<HistoryDescendant> descendants)
    {
        var ordered = descendants.OrderBy(d => d.Depth).ThenBy(d => d.Process.StartTime).Select(d => d.Process).ToList();
        return ordered.Count <= MaxDescendants
            ? new LineageResult(process, ancestors, ordered)
            : new LineageResult(process, ancestors, ordered[..MaxDescendants]) { DescendantsTruncated = true };
    }

    private async Task<TReply> AskEntityAsync<TReply>(object request, CancellationToken ct) where TReply : class
    {
        try
        {
            return await _hostTrees.Ask<TReply>(request, _askTimeout, ct);
        }
        catch (AskTimeoutException e)
        {
            throw new TimeoutException($"the host entity did not answer {request.GetType().Name} within {_askTimeout.TotalSeconds:0.#} s (no gateway node up, or the entity is still recovering): {request}", e);
        }
    }

    public async Task<IReadOnlyList<HostRunStats>> GetHostStatsAsync(string host, CancellationToken ct)
    {
        var accounts = await AskEntityAsync<HostAccounts>(new GetHostAccounts { Host = host }, ct);
        var runs = new List<HostRunStats>(accounts.Runs.Count);
        foreach (var account in accounts.Runs)
        {
            var report = account.Report is { } wire ? RunReportWire.FromWire(wire) : null;
            var gateway = RunLedger.GatewayCountsOf(account);
            runs.Add(new HostRunStats(account.RunId, report, gateway, report is null ? null : RunBalance.Of(report, gateway), RunLedger.CrashOf(account)));
        }
        return runs;
    }

    public Task<IReadOnlyList<HostGap>> GapsAsync(string host, DateTime from, DateTime to, int limit, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(host)) throw new ArgumentException("a host is required to list its gaps", nameof(host));
        return _history.GapsAsync(host, AsUtc(from), AsUtc(to), limit, ct);
    }

    public async Task<HostSnapshotResult> SnapshotHostAsync(string host, CancellationToken ct)
    {
        var taken = await AskEntityAsync<HostTreeSnapshotRequested>(new SnapshotHostTree { Host = host }, ct);
        return new HostSnapshotResult(host, taken.SequenceNr, taken.Processes);
    }

    private Task<LiveProcessList> AskEntityAsync(ListLiveProcesses request, CancellationToken ct) => AskEntityAsync<LiveProcessList>(request, ct);

    private Task<LiveLineage> AskEntityAsync(GetLiveLineage request, CancellationToken ct) => AskEntityAsync<LiveLineage>(request, ct);

    private static DateTime AsUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Local => time.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        _ => time,
    };
}

/// <summary>A registered live stream; disposing it unsubscribes.</summary>
public sealed class LiveSubscription(SubscriberQueue queue, LiveEventFilter filter, Action unsubscribe) : IAsyncDisposable
{
    /// <summary>The queue as the hub fills it: filtered by every field but the binary pattern.</summary>
    public ChannelReader<EnrichedEvent> Events => queue.Events;

    /// <summary>The stream: events that pass the whole filter, and counts of events missed when it fell behind.</summary>
    public IAsyncEnumerable<StreamItem> ReadAllAsync(CancellationToken ct) => queue.ReadAllAsync(filter, ct);

    public ValueTask DisposeAsync()
    {
        unsubscribe();
        return ValueTask.CompletedTask;
    }
}
