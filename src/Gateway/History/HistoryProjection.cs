using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
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

    public void Validate()
    {
        if (GroupEvents < 1) throw new SettingOutOfRangeException(nameof(GroupEvents), GroupEvents, "1 or more events");
        if (MinBackoff <= TimeSpan.Zero) throw new SettingOutOfRangeException(nameof(MinBackoff), MinBackoff, "a duration above 00:00:00");
        if (MaxBackoff < MinBackoff) throw new SettingOutOfRangeException(nameof(MaxBackoff), MaxBackoff, $"MinBackoff ({MinBackoff:c}) or longer");
    }
}

/// <summary>
/// Keeps the history table in step with the host journals: follows the journal tag from the stored
/// offset and applies each group of entries and the new offset in one transaction, so a restart
/// resumes exactly where the last commit ended. A group is what arrived while the previous transaction
/// ran (no timer: an idle projection only polls the journal). Runs as a cluster singleton (one writer per fleet).
/// A group the database refuses (full, read-only, locked, down) is tried again with backoff until it
/// goes in; any other failure restarts the projection with backoff from the stored offset.
/// </summary>
public sealed class HistoryProjection : ReceiveActor
{
    public const string Name = "forkline-history";

    private readonly HistoryStore _store;
    private readonly ProjectionSettings _settings;
    private readonly GatewayMetrics _metrics;
    private readonly StoreHealth _health;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Ends the retries of a group the database refuses when the singleton stops (moves, shuts down).
    private readonly CancellationTokenSource _stopping = new();
    private int _starts;

    public HistoryProjection(HistoryStore store, ProjectionSettings settings, GatewayMetrics metrics, StoreHealth health)
    {
        _store = store;
        _settings = settings;
        _metrics = metrics;
        _health = health;
    }

    public static Props Props(HistoryStore store, ProjectionSettings settings, GatewayMetrics metrics, StoreHealth health) =>
        Akka.Actor.Props.Create(() => new HistoryProjection(store, settings, metrics, health));

    private TimeSpan MinBackoff => _settings.MinBackoff;

    private TimeSpan MaxBackoff => _settings.MaxBackoff;

    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    protected override void PreStart()
    {
        var journal = PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var restart = RestartSettings.Create(MinBackoff, MaxBackoff, randomFactor: 0.2);
        RestartSource.OnFailuresWithBackoff(() => FromStoredOffset(journal), restart)
            .RunWith(Sink.Ignore<int>(), Context.Materializer());
    }

    private Source<int, NotUsed> FromStoredOffset(SqlReadJournal journal)
    {
        if (_starts++ > 0) _metrics.ProjectionFailures.Inc();
        return Source.FromTask(_store.ReadOffsetAsync(Name, CancellationToken.None))
            .ConcatMany(offset => journal.EventsByTag(HostTreeEntity.JournalTag, Offset.Sequence(offset)))
            .BatchWeighted(_settings.GroupEvents, EventsIn, envelope => new List<EventEnvelope> { envelope }, (group, envelope) =>
            {
                group.Add(envelope);
                return group;
            })
            .SelectAsync(1, ApplyAsync);
    }

    private async Task<int> ApplyAsync(List<EventEnvelope> group)
    {
        var batches = new List<JournalBatch>();
        long offset = 0;
        foreach (var envelope in group)
        {
            offset = ((Sequence)envelope.Offset).Value;
            if (envelope.Event is not HostEventsPersisted persisted) continue;
            var events = new List<EnrichedEvent>(persisted.Events.Count);
            foreach (var wire in persisted.Events) events.Add(WireConverter.ToEnriched(wire));
            var host = HostOf(envelope.PersistenceId);
            var gaps = new List<HostGap>(persisted.Gaps.Count);
            foreach (var gap in persisted.Gaps) gaps.Add(HostGapWire.FromWire(host, gap));
            batches.Add(new JournalBatch(host, envelope.SequenceNr, events, gaps));
        }
        var backoff = MinBackoff;
        var stopping = _stopping.Token;
        while (true)
        {
            try
            {
                var rows = await _store.ProjectAsync(Name, batches, offset, CancellationToken.None);
                _health.Wrote();
                _metrics.ProjectionEvents.Inc(batches.Sum(b => b.Events.Count));
                return rows;
            }
            catch (Exception e) when (StoreFault.Of(e).IsStorage)
            {
                // One transaction: nothing of the group went in. StoreHealth logs the fault once and counts each try.
                _health.Failed("history", e);
                await Task.Delay(backoff, stopping);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
            catch (Exception e)
            {
                _log.Error(e, "history projection could not apply journal up to offset {0} ({1}); restarting from the stored offset", offset, _store.Database.Describe());
                throw;
            }
        }
    }

    /// <summary>An entry weighs at least 1, so entries without events still move the offset.</summary>
    private static long EventsIn(EventEnvelope envelope) =>
        envelope.Event is HostEventsPersisted persisted ? Math.Max(1, persisted.Events.Count) : 1;

    private static string HostOf(string persistenceId) =>
        persistenceId.StartsWith(HostTreeEntity.PersistenceIdOf(""), StringComparison.Ordinal)
            ? persistenceId[HostTreeEntity.PersistenceIdOf("").Length..]
            : throw new WireFormatException($"journal entry of '{persistenceId}' is tagged {HostTreeEntity.JournalTag} but is not a host entity's");
}
