using Forkline.Contracts.Accounting;
using Forkline.Contracts.Collections;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;
using Google.Protobuf;

namespace Forkline.Forwarding;

/// <summary>
/// The forwarder's queue for one host: events waiting to be batched, and batches sent but not yet
/// acknowledged (resent, oldest first, with a backoff while no gateway answers).
/// </summary>
public sealed class HostOutbox(string host, string producerId, ForwarderSettings settings)
{
    private sealed class InFlight(EventBatch batch, int hooks, DateTime dueAt)
    {
        public EventBatch Batch { get; } = batch;
        public int Hooks { get; } = hooks;
        public DateTime DueAt { get; set; } = dueAt;

        /// <summary>Copies sent on the current stream that the gateway neither acknowledged nor deferred yet.</summary>
        public int AtGateway { get; set; } = 1;
    }

    // Each event with its serialized size inside a batch (field tag, length prefix, message).
    private readonly Queue<(WireEvent Event, int Bytes)> _pending = new();
    private readonly List<InFlight> _inFlight = [];
    private ulong _nextSeq = 1;
    private int _inFlightEvents;
    private long _pendingBytes;
    // When the oldest waiting event was queued (UTC ticks).
    private long _waitingSinceTicks;
    private TimeSpan _retryInterval = settings.AckTimeout;
    private long _received;
    private long _droppedFull;
    private long _droppedShutdown;
    private long _acknowledgedLifecycle;
    private long _acknowledgedHooks;
    // Event times (UTC ticks since the Unix epoch) of the earliest and the latest event dropped; 0: none yet.
    private long _firstDroppedTicks;
    private long _lastDroppedTicks;

    public string Host { get; } = host;

    /// <summary>Batches sent and not yet acknowledged.</summary>
    public int InFlightBatches => _inFlight.Count;

    /// <summary>Events held: waiting plus sent and unacknowledged.</summary>
    public int Buffered => _pending.Count + _inFlightEvents;

    /// <summary>Enough is waiting for a full batch, by count or by bytes.</summary>
    public bool HasFullBatch => _pending.Count >= settings.BatchSize || _pendingBytes >= settings.MaxBatchBytes;

    /// <summary>A partial batch may go: its oldest event has waited <see cref="ForwarderSettings.Linger"/>.</summary>
    public bool LingerOver(DateTime now) => _pending.Count > 0 && now.Ticks - _waitingSinceTicks >= settings.Linger.Ticks;

    /// <summary>How long until <see cref="LingerOver"/> (zero when it is, or nothing waits).</summary>
    public TimeSpan LingerLeft(DateTime now) =>
        _pending.Count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(0, settings.Linger.Ticks - (now.Ticks - _waitingSinceTicks)));

    /// <summary>What happened to this host's events so far (the forwarder's part of the loss accounting).</summary>
    public ForwardCounts Counts => new(_received, _droppedFull, _droppedShutdown, Buffered, _acknowledgedLifecycle, _acknowledgedHooks,
        TimeOf(_firstDroppedTicks), TimeOf(_lastDroppedTicks));

    public void Enqueue(WireEvent wire, DateTime now)
    {
        if (_pending.Count == 0) _waitingSinceTicks = now.Ticks;
        var size = wire.CalculateSize();
        var bytes = 1 + CodedOutputStream.ComputeLengthSize(size) + size;
        _received++;
        _pending.Enqueue((wire, bytes));
        _pendingBytes += bytes;
    }

    /// <summary>An event that found the forwarder's buffer full.</summary>
    public void CountDroppedFull(WireEvent wire)
    {
        _received++;
        _droppedFull++;
        NoteDropped(wire);
    }

    /// <summary>Batches to send now: full ones always, a partial one when <paramref name="flushPartial"/>.</summary>
    public List<EventBatch> TakeSendable(bool flushPartial, DateTime now)
    {
        var sendable = new List<EventBatch>();
        while (_inFlight.Count < settings.MaxInFlightBatches && (HasFullBatch || (flushPartial && _pending.Count > 0)))
        {
            var batch = new EventBatch { Host = Host, Seq = _nextSeq++, ProducerId = producerId };
            var bytes = 0;
            var hooks = 0;
            // The first event always goes, so one larger than MaxBatchBytes travels alone.
            while (_pending.Count > 0 && batch.Events.Count < settings.BatchSize
                   && (batch.Events.Count == 0 || bytes + _pending.Peek().Bytes <= settings.MaxBatchBytes))
            {
                var (wire, size) = _pending.Dequeue();
                if (wire.Kind == WireEventKind.Hook) hooks++;
                batch.Events.Add(wire);
                bytes += size;
            }
            _pendingBytes -= bytes;
            // A burst that outran the gateway leaves a long queue behind; its room goes back as it drains.
            _pending.TrimWhenSparse();
            _inFlight.Add(new InFlight(batch, hooks, now + _retryInterval));
            _inFlightEvents += batch.Events.Count;
            sendable.Add(batch);
        }
        return sendable;
    }

    /// <summary>The number of events the ack releases; 0 for an ack already seen (the batch was resent).</summary>
    public int Acknowledge(ulong seq)
    {
        var index = IndexOf(seq);
        if (index < 0) return 0;
        var flight = _inFlight[index];
        var events = flight.Batch.Events.Count;
        _acknowledgedHooks += flight.Hooks;
        _acknowledgedLifecycle += events - flight.Hooks;
        _inFlight.RemoveAt(index);
        _inFlightEvents -= events;
        _retryInterval = settings.AckTimeout;
        return events;
    }

    /// <summary>Batches whose ack is overdue, to send again; each waits longer next time.</summary>
    public List<EventBatch> TakeOverdue(DateTime now)
    {
        var overdue = new List<EventBatch>();
        foreach (var flight in _inFlight)
            if (flight.DueAt <= now) overdue.Add(flight.Batch);
        if (overdue.Count == 0) return overdue;
        _retryInterval = TimeSpan.FromTicks(Math.Min(_retryInterval.Ticks * 2, settings.MaxRetryInterval.Ticks));
        foreach (var flight in _inFlight)
            if (flight.DueAt <= now)
            {
                flight.DueAt = now + _retryInterval;
                flight.AtGateway++;
            }
        return overdue;
    }

    /// <summary>
    /// The batch to send again now that the gateway deferred a copy of it; null when it was acknowledged meanwhile,
    /// or another copy is still being asked (so a long outage keeps at most the copies the ack timeout sent, not more each time).
    /// </summary>
    public EventBatch? TakeDeferred(ulong seq, DateTime now)
    {
        var index = IndexOf(seq);
        if (index < 0) return null;
        var flight = _inFlight[index];
        if (--flight.AtGateway > 0) return null;
        flight.AtGateway = 1;
        flight.DueAt = now + _retryInterval;
        return flight.Batch;
    }

    /// <summary>Every batch sent and not acknowledged, to send again at once (a new stream): the backoff starts over.</summary>
    public List<EventBatch> TakeAllInFlight(DateTime now)
    {
        _retryInterval = settings.AckTimeout;
        var unacknowledged = new List<EventBatch>(_inFlight.Count);
        foreach (var flight in _inFlight)
        {
            flight.DueAt = now + _retryInterval;
            flight.AtGateway = 1;
            unacknowledged.Add(flight.Batch);
        }
        return unacknowledged;
    }

    /// <summary>Everything still held, counted as dropped at shutdown; the outbox is empty afterwards.</summary>
    public List<WireEvent> DropAllAtShutdown()
    {
        var dropped = new List<WireEvent>(Buffered);
        foreach (var flight in _inFlight) dropped.AddRange(flight.Batch.Events);
        foreach (var (wire, _) in _pending) dropped.Add(wire);
        foreach (var wire in dropped) NoteDropped(wire);
        _inFlight.Clear();
        _pending.Clear();
        _pendingBytes = 0;
        _inFlightEvents = 0;
        _droppedShutdown += dropped.Count;
        return dropped;
    }

    private int IndexOf(ulong seq)
    {
        for (var i = 0; i < _inFlight.Count; i++)
            if (_inFlight[i].Batch.Seq == seq) return i;
        return -1;
    }

    /// <summary>The dropped events' times bound the gap they leave in the host's history.</summary>
    private void NoteDropped(WireEvent wire)
    {
        var ticks = wire.TimeUnixTicks;
        if (_firstDroppedTicks == 0 || ticks < _firstDroppedTicks) _firstDroppedTicks = ticks;
        if (ticks > _lastDroppedTicks) _lastDroppedTicks = ticks;
    }

    private static DateTime? TimeOf(long unixTicks) => unixTicks == 0 ? null : WireConverter.FromUnixTicks(unixTicks);
}
