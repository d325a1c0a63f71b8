using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.History;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Accounting;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Telemetry;

using Forkline.Gateway.Queries;

namespace Forkline.Gateway.HostTree;

/// <summary>The HostTree section: how a gateway keeps each host's process tree (deploy/config/README.md).</summary>
public sealed record HostTreeSettings
{
    /// <summary>Persisted events between two snapshots: bounds recovery time.</summary>
    public int SnapshotEvery { get; init; } = 5_000;

    /// <summary>Hook events go to the journal too (they are always published live).</summary>
    public bool PersistHooks { get; init; }

    /// <summary>
    /// Starts and exits of ended processes a host's tree remembers, so a late duplicate of either is still
    /// recognised; and half as many pids' latest ended image, so a late start of an older image is not taken for live.
    /// </summary>
    public int RetiredCapacity { get; init; } = HostProcessTree.DefaultRetiredCapacity;

    public void Validate()
    {
        if (SnapshotEvery < 1) throw new SettingOutOfRangeException(nameof(SnapshotEvery), SnapshotEvery, "1 or more persisted events");
        if (RetiredCapacity < 1) throw new SettingOutOfRangeException(nameof(RetiredCapacity), RetiredCapacity, "1 or more retired events");
    }
}

/// <summary>
/// One host's live process tree, sharded by host name and event-sourced: each accepted batch is one
/// journal entry (<see cref="HostEventsPersisted"/>) holding its new exec / exit / clone events.
/// Messages it accepts: <see cref="EventBatch"/> (acked with <see cref="EventBatchAck"/> once
/// persisted), <see cref="CollectorRunReport"/> (acked; a final one is persisted first),
/// <see cref="ListLiveProcesses"/>, <see cref="GetLiveLineage"/>, <see cref="GetLiveProcesses"/>, <see cref="GetHostAccounts"/>, <see cref="SnapshotHostTree"/>.
/// </summary>
public sealed class HostTreeEntity : ReceivePersistentActor
{
    public const string JournalTag = "forkline-host-events";
    public const string LiveEventsTopic = "forkline-live-events";
    private const int RecentHookCapacity = 65_536;
    private const int RecentBatchCapacity = 1_024;

    /// <summary>Boot-clock times of one image are turned into UTC twice (stored at its exec, scanned at a restart).</summary>
    private static readonly TimeSpan ReconcileClockTolerance = TimeSpan.FromSeconds(1);

    private readonly string _host;
    private readonly HostTreeSettings _settings;
    private readonly GatewayMetrics _metrics;
    private readonly StoreHealth _store;
    private readonly IActorRef _mediator;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HostProcessTree _tree;
    private readonly RunLedger _runs = new();
    private readonly AccountingGauges _accountingMetrics;
    // Hooks leave no trace in the tree, so their de-duplication is this bounded memory of hook events, kept as
    // values (~90 B each) rather than as their event id strings (~165 B each with the set's and queue's slots).
    private readonly RecentSet<HookEventKey> _recentHooks = new(RecentHookCapacity);
    private readonly RecentSet<(string Producer, ulong Seq)> _recentBatches = new(RecentBatchCapacity);
    private long _persistedSinceSnapshot;
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private long _replayedEntries;

    // The latest journal entry holding events (the entries the history projection indexes): the queries
    // read the history table for this host only once it has caught up with what the entity answered.
    private long _journaledUpTo;

    // The latest moment a collector is known to have watched the host: a process found gone at the next
    // start ended after it.
    private DateTime _lastSeen = DateTime.MinValue;

    // The end of the latest gap a collector start closed: a later start's gap begins after it.
    private DateTime _lastRestart = DateTime.MinValue;

    public HostTreeEntity(string host, HostTreeSettings settings, GatewayMetrics metrics, StoreHealth store)
    {
        _host = host;
        _settings = settings;
        _metrics = metrics;
        _store = store;
        _tree = new HostProcessTree(settings.RetiredCapacity);
        _accountingMetrics = new AccountingGauges(metrics);
        _mediator = DistributedPubSub.Get(Context.System).Mediator;

        Recover<SnapshotOffer>(offer => RestoreSnapshot((HostTreeSnapshot)offer.Snapshot));
        Recover<HostEventsPersisted>(persisted =>
        {
            _replayedEntries++;
            foreach (var wire in persisted.Events) Apply(WireConverter.ToEnriched(wire));
            Journaled(persisted);
            ApplyEnded(persisted);
            _persistedSinceSnapshot += persisted.Events.Count;
            if (persisted.ProducerId.Length > 0) _recentBatches.Add((persisted.ProducerId, persisted.Seq));
            var at = persisted.Events.Count > 0 ? WireConverter.FromUnixTicks(persisted.Events[^1].TimeUnixTicks) : DateTime.MinValue;
            CountStored(persisted, at);
            Seen(at);
        });
        Recover<CollectorRunReport>(report =>
        {
            _replayedEntries++;
            var at = WireConverter.FromUnixTicks(report.ReportedUnixTicks);
            _runs.Record(RunReportWire.FromWire(report), at);
            Seen(at);
        });

        Command<EventBatch>(OnBatch);
        Command<CollectorRunReport>(OnRunReport);
        Command<ReconcileHost>(OnReconcile);
        Command<GetHostAccounts>(_ => Sender.Tell(AccountsOf()));
        Command<ListLiveProcesses>(_ => Sender.Tell(ListProcesses()));
        Command<GetLiveLineage>(request => Sender.Tell(LineageOf(request)));
        Command<GetLiveProcesses>(request => Sender.Tell(ProcessesOf(request)));
        Command<SnapshotHostTree>(_ => SnapshotNow());
        Command<SaveSnapshotSuccess>(success =>
        {
            _store.Wrote();
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1));
        });
        // Recovery replays more journal until the next snapshot succeeds.
        Command<SaveSnapshotFailure>(failure => _store.Failed("snapshot", failure.Cause));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure =>
            _log.Warning(failure.Cause, "deleting old snapshots of host {0} failed; they stay in the snapshot table", _host));
    }

    public override string PersistenceId => PersistenceIdOf(_host);

    protected override void OnReplaySuccess()
    {
        base.OnReplaySuccess();
        _metrics.HostRecovered(Stopwatch.GetElapsedTime(_startedAt), _replayedEntries);
    }

    public static string PersistenceIdOf(string host) => "forkline-host-" + host;

    public static Props Props(string host, HostTreeSettings settings, GatewayMetrics metrics, StoreHealth store) =>
        Akka.Actor.Props.Create(() => new HostTreeEntity(host, settings, metrics, store));

    /// <summary>
    /// The journal may or may not hold the entry, so the entity stops (as Akka.Persistence always does
    /// here) and the next message of its host starts it again from the journal. The batch was not
    /// acknowledged: the forwarder sends it again, and its events are taken once, whether stored or not.
    /// </summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr) => _store.Failed("journal", cause);

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        if (!_store.Failed("recovery", reason).IsStorage) base.OnRecoveryFailure(reason, message);
    }

    private void OnBatch(EventBatch batch)
    {
        var replyTo = Sender;
        var batchKey = (batch.ProducerId, batch.Seq);
        if (batch.ProducerId.Length > 0 && _recentBatches.Contains(batchKey))
        {
            CountOutcome(batch.Events, "duplicate");
            _runs.Count(batch.ProducerId, new GatewayCounts(0, 0, 0, ResentReceipts: batch.Events.Count), DateTime.UtcNow);
            replyTo.Tell(Ack(batch, accepted: 0, duplicates: batch.Events.Count));
            return;
        }

        var accepted = new List<EnrichedEvent>(batch.Events.Count);
        var live = new EventBatch { Host = _host };
        var toPersist = new HostEventsPersisted { ProducerId = batch.ProducerId, Seq = batch.Seq };
        var seenInBatch = new HashSet<string>();
        var duplicates = 0;
        foreach (var wire in batch.Events)
        {
            var enriched = Accept(wire);
            if (enriched is null)
            {
                if (wire.Kind != WireEventKind.Hook) toPersist.Rejected++;
                continue;
            }
            if (!seenInBatch.Add(wire.EventId) || IsDuplicate(enriched))
            {
                duplicates++;
                _metrics.Event(wire.Kind, "duplicate");
                if (wire.Kind != WireEventKind.Hook) toPersist.AlreadyStored++;
                continue;
            }
            accepted.Add(enriched);
            live.Events.Add(wire);
            if (wire.Kind != WireEventKind.Hook || _settings.PersistHooks) toPersist.Events.Add(wire);
        }

        // Counts alone are journaled too, so a run's accounting survives a restart; a batch of hooks leaves no entry.
        if (toPersist.Events.Count == 0 && toPersist.AlreadyStored == 0 && toPersist.Rejected == 0)
        {
            Complete(batch, batchKey, accepted, live, duplicates, replyTo);
            return;
        }
        Persist(new Tagged(toPersist, [JournalTag]), _ =>
        {
            HistoryEntryWritten();
            Journaled(toPersist);
            CountStored(toPersist, DateTime.UtcNow);
            if (toPersist.Events.Count > 0) Seen(WireConverter.FromUnixTicks(toPersist.Events[^1].TimeUnixTicks));
            Complete(batch, batchKey, accepted, live, duplicates, replyTo);
            _persistedSinceSnapshot += toPersist.Events.Count;
            if (_persistedSinceSnapshot >= _settings.SnapshotEvery)
            {
                SaveSnapshot(TakeSnapshot());
                _persistedSinceSnapshot = 0;
            }
        });
    }

    /// <summary>A tagged entry is in the journal: the store is writable, and the history projection (if on this node) reads it now.</summary>
    private void HistoryEntryWritten()
    {
        _store.Wrote();
        Context.System.EventStream.Publish(JournalAppended.Instance);
    }

    private void Complete(EventBatch batch, (string, ulong) batchKey, List<EnrichedEvent> accepted, EventBatch live, int duplicates, IActorRef replyTo)
    {
        foreach (var enriched in accepted) Apply(enriched);
        foreach (var wire in live.Events) _metrics.Event(wire.Kind, "accepted");
        if (batch.ProducerId.Length > 0) _recentBatches.Add(batchKey);
        if (live.Events.Count > 0) _mediator.Tell(new Publish(LiveEventsTopic, live));
        replyTo.Tell(Ack(batch, accepted.Count, duplicates));
    }

    /// <summary>What one journal entry did with the exec / exit / clone events of the run that sent them.</summary>
    private void CountStored(HostEventsPersisted persisted, DateTime at)
    {
        var stored = 0;
        foreach (var wire in persisted.Events)
        {
            // Exits concluded at a restart are the entity's own, not events of the run that scanned.
            if (wire.Kind != WireEventKind.Hook && wire.Process?.Exit?.Conclusion != (uint)ExitConclusion.Restart) stored++;
        }
        _runs.Count(persisted.ProducerId, new GatewayCounts(stored, persisted.AlreadyStored, persisted.Rejected, 0), at);
    }

    private void OnRunReport(CollectorRunReport wire)
    {
        var replyTo = Sender;
        var ack = new CollectorRunReportAck { Host = _host, RunId = wire.RunId, ReportSeq = wire.ReportSeq };
        RunReport report;
        try
        {
            report = RunReportWire.FromWire(wire);
            Seen(DateTime.UtcNow);
        }
        catch (WireFormatException e)
        {
            _metrics.Event("run_report", "malformed");
            _log.Warning("malformed run report {0} from host {1} dropped: {2}", wire.RunId, _host, e.Message);
            return;
        }
        if (report.Host != _host)
        {
            _metrics.Event("run_report", "malformed");
            _log.Warning("run report {0} of host '{1}' arrived at the entity of host '{2}'; dropped", report.RunId, report.Host, _host);
            return;
        }
        // Ring losses and forwarder drops are gaps in the history: journaled as such when a report counts new ones.
        if (_runs.LossGaps(_host, report) is { Count: > 0 } losses)
        {
            var gaps = new HostEventsPersisted();
            foreach (var loss in losses) gaps.Gaps.Add(HostGapWire.ToWire(loss));
            Persist(new Tagged(gaps, [JournalTag]), _ =>
            {
                HistoryEntryWritten();
                ApplyEnded(gaps);
            });
        }
        // A final report outlives the collector, so it goes to the journal; the periodic ones are resent anyway.
        if (!report.Final || (_runs.TryGetReport(report.RunId, out var known) && known!.Final))
        {
            _runs.Record(report, DateTime.UtcNow);
            UpdateGauges(report);
            replyTo.Tell(ack);
            return;
        }
        Persist(wire, _ =>
        {
            _store.Wrote();
            _runs.Record(report, DateTime.UtcNow);
            UpdateGauges(report);
            replyTo.Tell(ack);
        });
    }

    /// <summary>Called for the entry just persisted or replayed, while LastSequenceNr is its sequence number.</summary>
    private void Journaled(HostEventsPersisted persisted)
    {
        if (persisted.Events.Count > 0) _journaledUpTo = LastSequenceNr;
    }

    private void Seen(DateTime at)
    {
        if (at > _lastSeen) _lastSeen = at;
    }

    /// <summary>
    /// A collector started and scanned /proc: stored live processes that still run are adopted (the reply
    /// names their exec_ids, which the collector keeps); those gone get an exit concluded at restart, with
    /// their end between the last moment the host was watched and the scan, persisted in one journal entry.
    /// </summary>
    private void OnReconcile(ReconcileHost request)
    {
        var replyTo = Sender;
        var scanned = new List<ScannedProcess>(request.Scanned.Count);
        foreach (var process in request.Scanned)
            scanned.Add(new ScannedProcess(process.Pid, process.ForkKtime, WireConverter.FromUnixTicks(process.ForkTimeUnixTicks)));
        var scanTime = WireConverter.FromUnixTicks(request.ScanTimeUnixTicks);
        var reconciliation = _tree.Reconcile(scanned, ReconcileClockTolerance);
        var reply = new HostReconciled { Concluded = reconciliation.Gone.Count };
        foreach (var running in reconciliation.StillRunning) reply.Adopted.Add(WireConverter.ToWire(running.Snapshot.ExecId));
        var toPersist = new HostEventsPersisted();
        toPersist.CrashedRuns.AddRange(_runs.Unfinished(foundBy: request.RunId));
        // The last moment an earlier run watched: this run may have reported before it asked to reconcile.
        var previous = _runs.LatestOtherThan(request.RunId);
        var endedAfter = previous?.LastActivity ?? (_lastSeen == DateTime.MinValue ? (DateTime?)null : _lastSeen);
        // Another run watched the host before (and no start since, a resent request's included): the time
        // between is a gap, whatever ended in it.
        if (previous is { } before && Later(before.LastActivity, _lastRestart) is var from && from < scanTime)
        {
            var crashed = toPersist.CrashedRuns.Count > 0;
            toPersist.Gaps.Add(HostGapWire.ToWire(new HostGap(_host, from, scanTime,
                crashed ? HostGapReason.CollectorCrashed : HostGapReason.CollectorStopped, crashed ? toPersist.CrashedRuns[0] : before.RunId, request.RunId, 0)));
        }
        if (reconciliation.Gone.Count == 0 && toPersist.Gaps.Count == 0 && toPersist.CrashedRuns.Count == 0)
        {
            replyTo.Tell(reply);
            return;
        }

        var concluded = new List<EnrichedEvent>(reconciliation.Gone.Count);
        var live = new EventBatch { Host = _host };
        foreach (var gone in reconciliation.Gone)
        {
            var snapshot = gone.Snapshot;
            var exited = snapshot with
            {
                Exit = new ProcessExit(Status: 0, Signal: 0, Ktime: 0, scanTime, snapshot.Pid, ExitConclusion.Restart, endedAfter ?? snapshot.StartTime),
            };
            var parent = _tree.TryGet(snapshot.ParentExecId, out var known) ? known.Snapshot : null;
            var exit = new EnrichedExit(_host, scanTime, Ktime: 0, exited, parent, Ancestors: null);
            concluded.Add(exit);
            var wire = WireConverter.ToWire(exit);
            toPersist.Events.Add(wire);
            live.Events.Add(wire);
        }
        Persist(new Tagged(toPersist, [JournalTag]), _ =>
        {
            HistoryEntryWritten();
            Journaled(toPersist);
            foreach (var exit in concluded) Apply(exit);
            ApplyEnded(toPersist);
            Seen(scanTime);
            _metrics.ExitsConcluded(ProcessExit.ReasonOf(ExitConclusion.Restart), concluded.Count);
            _persistedSinceSnapshot += concluded.Count;
            _mediator.Tell(new Publish(LiveEventsTopic, live));
            _log.Info("host {0}: {1} stored processes gone at the start of run {2} ended with an exit concluded at restart; {3} still run; not watched since {4:O}; runs ended without a final report: {5}",
                _host, concluded.Count, request.RunId, reconciliation.StillRunning.Count, endedAfter, toPersist.CrashedRuns.Count == 0 ? "none" : string.Join(", ", toPersist.CrashedRuns));
            replyTo.Tell(reply);
        });
    }

    /// <summary>What a journal entry says of ended runs and gaps, applied to the run ledger.</summary>
    private void ApplyEnded(HostEventsPersisted persisted)
    {
        foreach (var gap in persisted.Gaps)
        {
            var value = HostGapWire.FromWire(_host, gap);
            _runs.NoteGap(value);
            if (value.WhileWatching) continue;
            Seen(value.To);
            _lastRestart = Later(_lastRestart, value.To);
        }
        foreach (var runId in persisted.CrashedRuns)
        {
            var foundBy = persisted.Gaps.Count > 0 ? persisted.Gaps[0].NextRunId : "";
            var at = persisted.Gaps.Count > 0 ? WireConverter.FromUnixTicks(persisted.Gaps[0].ToUnixTicks) : _lastSeen;
            _runs.MarkCrashed(runId, foundBy, at);
        }
    }

    private static DateTime Later(DateTime a, DateTime b) => a > b ? a : b;

    private void UpdateGauges(RunReport report)
    {
        _accountingMetrics.Update(_host, report, _runs.GatewayCountsOf(report.RunId));
    }

    protected override void PostStop()
    {
        _accountingMetrics.Remove(_host);
        base.PostStop();
    }

    private HostAccounts AccountsOf()
    {
        var accounts = new HostAccounts { Host = _host };
        accounts.Runs.AddRange(_runs.ToWire());
        return accounts;
    }

    /// <summary>The event as Contracts values, or null (counted, logged) when it cannot be taken.</summary>
    private EnrichedEvent? Accept(WireEvent wire)
    {
        if (wire.Host != _host)
        {
            _metrics.Event(wire.Kind, "malformed");
            _log.Warning("event {0} of host '{1}' arrived at the entity of host '{2}'; dropped (the forwarder must batch per host)", wire.EventId, wire.Host, _host);
            return null;
        }
        try
        {
            return WireConverter.ToEnriched(wire);
        }
        catch (WireFormatException e)
        {
            _metrics.Event(wire.Kind, "malformed");
            _log.Warning("malformed event {0} from host {1} dropped: {2}", wire.EventId, _host, e.Message);
            return null;
        }
    }

    private bool IsDuplicate(EnrichedEvent enriched) =>
        enriched is EnrichedHook hook ? _recentHooks.Contains(HookEventKey.Of(hook)) : _tree.IsDuplicate(enriched);

    private void Apply(EnrichedEvent enriched)
    {
        if (enriched is EnrichedHook hook) _recentHooks.Add(HookEventKey.Of(hook));
        else _tree.Apply(enriched);
    }

    private EventBatchAck Ack(EventBatch batch, int accepted, int duplicates) => new()
    {
        Host = _host, Seq = batch.Seq, Accepted = (uint)accepted, Duplicates = (uint)duplicates,
    };

    private LiveProcessList ListProcesses()
    {
        var list = new LiveProcessList { JournaledUpTo = _journaledUpTo };
        foreach (var process in _tree.Processes) list.Processes.Add(WireConverter.ToWire(process));
        return list;
    }

    private LiveProcessList ProcessesOf(GetLiveProcesses request)
    {
        var list = new LiveProcessList { JournaledUpTo = _journaledUpTo };
        foreach (var execId in request.ExecIds)
            if (_tree.TryGet(WireConverter.ToExecId(execId), out var process)) list.Processes.Add(WireConverter.ToWire(process));
        return list;
    }

    private LiveLineage LineageOf(GetLiveLineage request)
    {
        var execId = WireConverter.ToExecId(request.ExecId);
        var reply = new LiveLineage { JournaledUpTo = _journaledUpTo };
        if (request.ProcessOnly)
        {
            if (_tree.TryGet(execId, out var process)) reply.Process = WireConverter.ToWire(process);
            return reply;
        }
        // One more than the queries return: whether it comes back says the descendants were cut.
        var lineage = _tree.Lineage(execId, request.DescendantDepth, ProcessQueries.MaxDescendants + 1);
        if (lineage is null) return reply;
        var found = WireConverter.ToWire(lineage);
        found.JournaledUpTo = _journaledUpTo;
        return found;
    }

    private void SnapshotNow()
    {
        var snapshot = TakeSnapshot();
        // Nothing persisted yet means nothing to recover: a snapshot at sequence 0 would only be noise.
        if (LastSequenceNr > 0)
        {
            SaveSnapshot(snapshot);
            _persistedSinceSnapshot = 0;
        }
        Sender.Tell(new HostTreeSnapshotRequested { SequenceNr = LastSequenceNr, Processes = snapshot.Processes.Count });
    }

    private HostTreeSnapshot TakeSnapshot()
    {
        var snapshot = new HostTreeSnapshot { Host = _host };
        foreach (var process in _tree.Processes) snapshot.Processes.Add(WireConverter.ToWire(process));
        foreach (var retired in _tree.Retired) snapshot.RetiredEvents.Add(WireConverter.ToWire(retired));
        foreach (var ended in _tree.EndedImages) snapshot.EndedImages.Add(WireConverter.ToWire(ended));
        snapshot.Runs.AddRange(_runs.ToWire());
        if (_lastSeen != DateTime.MinValue) snapshot.LastSeenUnixTicks = WireConverter.ToUnixTicks(_lastSeen);
        if (_lastRestart != DateTime.MinValue) snapshot.LastRestartUnixTicks = WireConverter.ToUnixTicks(_lastRestart);
        snapshot.JournaledUpTo = _journaledUpTo;
        return snapshot;
    }

    private void RestoreSnapshot(HostTreeSnapshot snapshot)
    {
        var processes = new List<TreeProcessView>(snapshot.Processes.Count);
        foreach (var process in snapshot.Processes) processes.Add(WireConverter.ToTreeProcess(process));
        var retired = new List<RetiredEvent>(snapshot.Retired.Count * 2 + snapshot.RetiredEvents.Count);
        // Snapshots from before retired events were told apart name processes only: exec and exit both count as seen, as they did.
        foreach (var execId in snapshot.Retired)
        {
            var process = WireConverter.ToExecId(execId);
            retired.Add(new RetiredEvent(process, IsExit: false));
            retired.Add(new RetiredEvent(process, IsExit: true));
        }
        foreach (var wire in snapshot.RetiredEvents) retired.Add(WireConverter.ToRetiredEvent(wire));
        var endedImages = new List<EndedImage>(snapshot.EndedImages.Count);
        foreach (var wire in snapshot.EndedImages) endedImages.Add(WireConverter.ToEndedImage(wire));
        _tree.Restore(processes, retired, endedImages);
        _runs.Restore(snapshot.Runs);
        if (snapshot.LastSeenUnixTicks != 0) Seen(WireConverter.FromUnixTicks(snapshot.LastSeenUnixTicks));
        if (snapshot.LastRestartUnixTicks != 0) _lastRestart = WireConverter.FromUnixTicks(snapshot.LastRestartUnixTicks);
        _journaledUpTo = snapshot.JournaledUpTo;
    }

    private void CountOutcome(IEnumerable<WireEvent> events, string outcome)
    {
        foreach (var wire in events) _metrics.Event(wire.Kind, outcome);
    }
}

/// <summary>What a hook's event id names (<see cref="WireConverter.EventIdOf"/>): one thread of one process image at one boot-clock nanosecond.</summary>
internal readonly record struct HookEventKey(ExecId Process, int Tid, ulong Ktime)
{
    public static HookEventKey Of(EnrichedHook hook) => new(hook.Process.ExecId, hook.Hook.Tid, hook.Hook.Ktime);
}
