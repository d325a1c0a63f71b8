using Forkline.Contracts.Accounting;
using Forkline.Contracts.Wire;

namespace Forkline.Gateway.Cluster;

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
    }

    private readonly Queue<WireEvent> _pending = new();
    private readonly List<InFlight> _inFlight = [];
    private ulong _nextSeq = 1;
    private int _inFlightEvents;
    private TimeSpan _retryInterval = settings.AckWait;
    private long _received;
    private long _droppedFull;
    private long _droppedShutdown;
    private long _acknowledgedLifecycle;
    private long _acknowledgedHooks;

    public string Host { get; } = host;

    /// <summary>Events held: waiting plus sent and unacknowledged.</summary>
    public int Buffered => _pending.Count + _inFlightEvents;

    public int Pending => _pending.Count;

    /// <summary>What happened to this host's events so far (the forwarder's part of the loss accounting).</summary>
    public ForwardCounts Counts => new(_received, _droppedFull, _droppedShutdown, Buffered, _acknowledgedLifecycle, _acknowledgedHooks);

    public void Enqueue(WireEvent wire)
    {
        _received++;
        _pending.Enqueue(wire);
    }

    /// <summary>An event that found the forwarder's buffer full.</summary>
    public void CountDroppedFull()
    {
        _received++;
        _droppedFull++;
    }

    /// <summary>Batches to send now: full ones always, a partial one when <paramref name="flushPartial"/>.</summary>
    public List<EventBatch> TakeSendable(bool flushPartial, DateTime now)
    {
        var sendable = new List<EventBatch>();
        while (_inFlight.Count < settings.MaxInFlightBatches
               && (_pending.Count >= settings.BatchSize || (flushPartial && _pending.Count > 0)))
        {
            var batch = new EventBatch { Host = Host, Seq = _nextSeq++, ProducerId = producerId };
            var size = Math.Min(settings.BatchSize, _pending.Count);
            var hooks = 0;
            for (var i = 0; i < size; i++)
            {
                var wire = _pending.Dequeue();
                if (wire.Kind == WireEventKind.Hook) hooks++;
                batch.Events.Add(wire);
            }
            _inFlight.Add(new InFlight(batch, hooks, now + _retryInterval));
            _inFlightEvents += size;
            sendable.Add(batch);
        }
        return sendable;
    }

    /// <summary>The number of events the ack releases; 0 for an ack already seen (the batch was resent).</summary>
    public int Acknowledge(ulong seq)
    {
        var index = _inFlight.FindIndex(f => f.Batch.Seq == seq);
        if (index < 0) return 0;
        var flight = _inFlight[index];
        var events = flight.Batch.Events.Count;
        _acknowledgedHooks += flight.Hooks;
        _acknowledgedLifecycle += events - flight.Hooks;
        _inFlight.RemoveAt(index);
        _inFlightEvents -= events;
        _retryInterval = settings.AckWait;
        return events;
    }

    /// <summary>Batches whose ack is overdue, to send again; each waits longer next time.</summary>
    public List<EventBatch> TakeOverdue(DateTime now)
    {
        var overdue = new List<EventBatch>();
        foreach (var flight in _inFlight)
            if (flight.DueAt <= now) overdue.Add(flight.Batch);
        if (overdue.Count == 0) return overdue;
        _retryInterval = TimeSpan.FromTicks(Math.Min(_retryInterval.Ticks * 2, settings.MaxRetryWait.Ticks));
        foreach (var flight in _inFlight)
            if (flight.DueAt <= now) flight.DueAt = now + _retryInterval;
        return overdue;
    }

    /// <summary>Everything still held, counted as dropped at shutdown; the outbox is empty afterwards.</summary>
    public List<WireEvent> DropAllAtShutdown()
    {
        var dropped = new List<WireEvent>(Buffered);
        foreach (var flight in _inFlight) dropped.AddRange(flight.Batch.Events);
        dropped.AddRange(_pending);
        _inFlight.Clear();
        _pending.Clear();
        _inFlightEvents = 0;
        _droppedShutdown += dropped.Count;
        return dropped;
    }
}
