using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Telemetry;

namespace Forkline.Gateway.History;

/// <summary>The Projection section: how a gateway's history projection groups its writes and retries them (deploy/config/README.md).</summary>
public sealed record ProjectionSettings
{
    /// <summary>
    /// Events applied per database transaction at most (an entry holds a whole forwarder batch; an entry
    /// without events weighs one). On SQLite the transaction holds the one write lock the journal also
    /// needs: a long one makes persists time out.
    /// </summary>
    public int GroupEvents { get; init; } = 2_048;

    /// <summary>The first wait before a group the database refused is tried again, or a failed projection restarts; it doubles from there.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two tries.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the projection waits for a missing journal ordering (a write that commits after a later one)
    /// before it takes the hole for a write that never committed and goes on (<see cref="OrderingGap"/>).
    /// </summary>
    public TimeSpan GapPatience { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// True: the projection also reads <see cref="LocalWriteDelay"/> after a host entity of its node has journaled
    /// (<see cref="JournalAppended"/>); false: only every poll interval (Gateway QueryRefreshInterval), so the history
    /// lags the live tree by up to that.
    /// </summary>
    public bool ReadOnLocalWrites { get; init; } = true;

    /// <summary>
    /// How long the projection lets a node's journal writes gather before it reads them: each read is a transaction
    /// on the history with its own fixed cost (one per forwarder batch under an exec storm doubled the projection's CPU).
    /// </summary>
    public TimeSpan LocalWriteDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public void Validate()
    {
        if (GroupEvents < 1) throw new SettingOutOfRangeException(nameof(GroupEvents), GroupEvents, "1 or more events");
        if (MinBackoff <= TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(MinBackoff), MinBackoff, "a duration above 00:00:00");
        if (GapPatience < TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(GapPatience), GapPatience, "00:00:00 or longer");
        if (LocalWriteDelay < TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(LocalWriteDelay), LocalWriteDelay, "00:00:00 or longer");
        if (MaxBackoff < MinBackoff) throw new SettingOutOfRangeException(nameof(MaxBackoff), MaxBackoff, $"MinBackoff ({MinBackoff:c}) or longer");
    }
}

/// <summary>
/// Keeps the history table in step with the host journals: reads the journal rows after the stored
/// offset (<see cref="JournalRowReader"/>) and applies each group of host-entity entries and the new
/// offset in one transaction, so a restart resumes exactly where the last commit ended. It reads shortly
/// after a host entity of this node has journaled something (<see cref="JournalAppended"/> on the event
/// stream), and every poll interval for what entities on other gateways wrote; a full read is followed
/// by another at once. Runs as a cluster singleton
/// (one writer per fleet). A group the database refuses (full, read-only, locked, down) is tried again
/// with backoff until it goes in; any other failure starts over from the stored offset, with backoff.
/// </summary>
public sealed class HistoryProjection : ReceiveActor, IWithTimers
{
    public const string Name = "forkline-history";

    /// <summary>Journal rows read at a time.</summary>
    private const int RowsPerRead = 256;

    private readonly HistoryStore _store;
    private readonly JournalRowReader _journal;
    private readonly ProjectionSettings _settings;
    private readonly TimeSpan _pollInterval;
    private readonly GatewayMetrics _metrics;
    private readonly StoreHealth _health;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Ends the retries of a group the database refuses when the singleton stops (moves, shuts down).
    private readonly CancellationTokenSource _stopping = new();
    // Null until read from the store (at start, and again after a failure).
    private long? _offset;
    private OrderingGap? _gap;
    private bool _reading;
    private bool _readAgain;
    private TimeSpan _failureBackoff;

    public HistoryProjection(HistoryStore store, ProjectionSettings settings, TimeSpan pollInterval, GatewayMetrics metrics, StoreHealth health)
    {
        _store = store;
        _journal = new JournalRowReader(store.Database);
        _settings = settings;
        _pollInterval = pollInterval;
        _metrics = metrics;
        _health = health;
        _serialization = Context.System.Serialization;
        _failureBackoff = _settings.MinBackoff;

        Receive<JournalAppended>(_ =>
        {
            if (!Timers.IsTimerActive(nameof(JournalAppended))) Timers.StartSingleTimer(nameof(JournalAppended), Poll.Instance, _settings.LocalWriteDelay);
        });
        Receive<Poll>(_ => Read());
        Receive<Applied>(OnApplied);
        Receive<Status.Failure>(failure => OnFailed(failure.Cause));
        Receive<Resume>(_ =>
        {
            _reading = false;
            Read();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(HistoryStore store, ProjectionSettings settings, TimeSpan pollInterval, GatewayMetrics metrics, StoreHealth health) =>
        Akka.Actor.Props.Create(() => new HistoryProjection(store, settings, pollInterval, metrics, health));

    protected override void PreStart()
    {
        if (_settings.ReadOnLocalWrites) Context.System.EventStream.Subscribe(Self, typeof(JournalAppended));
        Timers.StartPeriodicTimer(nameof(Poll), Poll.Instance, _pollInterval);
        Read();
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <summary>One read at a time; a wake-up during it asks for another right after.</summary>
    private void Read()
    {
        if (_reading)
        {
            _readAgain = true;
            return;
        }
        _reading = true;
        _readAgain = false;
        ReadAndApplyAsync(_offset, _gap).PipeTo(Self);
    }

    private void OnApplied(Applied applied)
    {
        _reading = false;
        _offset = applied.Offset;
        _gap = applied.Gap;
        _failureBackoff = _settings.MinBackoff;
        if (applied.Skipped > 0)
            _log.Warning("history projection passed {0} journal orderings that stayed missing for {1} (writes that never committed), now at offset {2}",
                applied.Skipped, _settings.GapPatience, applied.Offset);
        // A full read leaves more behind; anything journaled meanwhile was announced while reading.
        if (applied.More || _readAgain) Read();
    }

    private void OnFailed(Exception cause)
    {
        _metrics.ProjectionFailed();
        _log.Error(cause, "history projection could not apply the journal after offset {0} ({1}); starting again from the stored offset in {2}",
            _offset?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(not read yet)", _store.Database.Describe(), _failureBackoff);
        _offset = null;
        _gap = null;
        // Still "reading": wake-ups wait for the resume.
        Timers.StartSingleTimer(nameof(Resume), Resume.Instance, _failureBackoff);
        _failureBackoff = TimeSpan.FromTicks(Math.Min(_failureBackoff.Ticks * 2, _settings.MaxBackoff.Ticks));
    }

    /// <summary>Off the actor's thread: touches no field but the immutable ones.</summary>
    private async Task<Applied> ReadAndApplyAsync(long? knownOffset, OrderingGap? knownGap)
    {
        var stopping = _stopping.Token;
        var offset = knownOffset ?? await _store.ReadOffsetAsync(Name, stopping);
        var rows = await _journal.ReadAfterAsync(offset, RowsPerRead, stopping);
        var orderings = new long[rows.Count];
        for (var i = 0; i < rows.Count; i++) orderings[i] = rows[i].Ordering;
        var (applicable, gap, skipped) = OrderingGap.Applicable(offset, orderings, knownGap, DateTime.UtcNow, _settings.GapPatience);

        var group = new List<JournalBatch>();
        var weight = 0;
        for (var i = 0; i < applicable; i++)
        {
            var batch = ToBatch(rows[i]);
            var rowWeight = Math.Max(1, batch?.Events.Count ?? 0);
            if (group.Count > 0 && weight + rowWeight > _settings.GroupEvents)
            {
                await ApplyAsync(group, offset, stopping);
                group.Clear();
                weight = 0;
            }
            if (batch is not null) group.Add(batch);
            weight += rowWeight;
            offset = rows[i].Ordering;
        }
        if (applicable > 0) await ApplyAsync(group, offset, stopping);
        return new Applied(offset, gap, skipped, More: applicable == RowsPerRead);
    }

    /// <summary>A host entity's entry as the history applies it; null for any other row (it only moves the offset).</summary>
    private JournalBatch? ToBatch(JournalRow row)
    {
        if (row.Tags is null || !row.Tags.Contains(TagInCsv, StringComparison.Ordinal)) return null;
        if (_serialization.Deserialize(row.Message, row.SerializerId, row.Manifest) is not HostEventsPersisted persisted) return null;
        var events = new List<EnrichedEvent>(persisted.Events.Count);
        foreach (var wire in persisted.Events) events.Add(WireConverter.ToEnriched(wire));
        var host = HostOf(row.PersistenceId);
        var gaps = new List<HostGap>(persisted.Gaps.Count);
        foreach (var gap in persisted.Gaps) gaps.Add(HostGapWire.FromWire(host, gap));
        return new JournalBatch(host, row.SequenceNr, events, gaps);
    }

    /// <summary>How Akka.Persistence.Sql's CSV tag mode writes a tag into the tags column.</summary>
    private static readonly string TagInCsv = ";" + HostTreeEntity.JournalTag + ";";

    private async Task ApplyAsync(List<JournalBatch> batches, long offset, CancellationToken stopping)
    {
        var backoff = _settings.MinBackoff;
        while (true)
        {
            try
            {
                await _store.ProjectAsync(Name, batches, offset, CancellationToken.None);
                _health.Wrote();
                var events = 0;
                foreach (var batch in batches) events += batch.Events.Count;
                _metrics.Projected(events);
                return;
            }
            catch (Exception e) when (StoreFault.Of(e).IsStorage)
            {
                // One transaction: nothing of the group went in. StoreHealth logs the fault once and counts each try.
                _health.Failed("history", e);
                await Task.Delay(backoff, stopping);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _settings.MaxBackoff.Ticks));
            }
        }
    }

    private static string HostOf(string persistenceId) =>
        persistenceId.StartsWith(HostTreeEntity.PersistenceIdOf(""), StringComparison.Ordinal)
            ? persistenceId[HostTreeEntity.PersistenceIdOf("").Length..]
            : throw new WireFormatException($"journal entry of '{persistenceId}' is tagged {HostTreeEntity.JournalTag} but is not a host entity's");

    private sealed record Poll
    {
        public static readonly Poll Instance = new();
    }

    private sealed record Resume
    {
        public static readonly Resume Instance = new();
    }

    /// <summary>The offset applied up to, the hole waited for, orderings passed, and whether the read was full.</summary>
    private sealed record Applied(long Offset, OrderingGap? Gap, long Skipped, bool More);
}

/// <summary>
/// Published on a node's event stream when one of its host entities has journaled an entry the history
/// needs: the projection, when it runs on that node, reads at once instead of at its next poll.
/// </summary>
public sealed record JournalAppended
{
    public static readonly JournalAppended Instance = new();
}
