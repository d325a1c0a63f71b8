using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Telemetry;

namespace Forkline.Gateway.Cluster;

/// <summary>
/// Collector side of the delivery protocol: batches each host's events, sends them to the host
/// entities through the sharding region (or proxy), resends what is not acknowledged in time, and
/// holds at most <see cref="ForwarderSettings.MaxBufferedEvents"/>; past that, new events are
/// dropped and counted in <c>forkline_forward_dropped_total</c>.
/// </summary>
public sealed class ForwarderActor : ReceiveActor, IWithTimers
{
    /// <summary>Reply <see cref="Drained"/> once nothing is buffered (all acknowledged).</summary>
    public sealed record AwaitDrained;

    public sealed record Drained;

    private sealed record Tick;

    private static readonly TimeSpan DropLogInterval = TimeSpan.FromSeconds(10);

    private readonly IActorRef _hostTrees;
    private readonly ForwarderSettings _settings;
    private readonly GatewayMetrics _metrics;
    private readonly string _producerId = Guid.NewGuid().ToString("N");
    private readonly Dictionary<string, HostOutbox> _outboxes = [];
    private readonly List<IActorRef> _awaitingDrain = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _buffered;
    private long _droppedSinceLog;
    private DateTime _lastDropLog = DateTime.MinValue;

    public ForwarderActor(IActorRef hostTrees, ForwarderSettings settings, GatewayMetrics metrics)
    {
        _hostTrees = hostTrees;
        _settings = settings;
        _metrics = metrics;

        Receive<WireEvent>(OnEvent);
        Receive<EventBatchAck>(OnAck);
        Receive<Tick>(_ => OnTick());
        Receive<AwaitDrained>(_ =>
        {
            if (_buffered == 0) Sender.Tell(new Drained());
            else _awaitingDrain.Add(Sender);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef hostTrees, ForwarderSettings settings, GatewayMetrics metrics) =>
        Akka.Actor.Props.Create(() => new ForwarderActor(hostTrees, settings, metrics));

    protected override void PreStart() =>
        Timers.StartPeriodicTimer("flush", new Tick(), _settings.FlushEvery);

    protected override void PostStop()
    {
        foreach (var outbox in _outboxes.Values)
            foreach (var wire in outbox.Unacknowledged())
                _metrics.ForwardDropped.WithLabels(WireConverter.MetricLabel(wire.Kind), "shutdown").Inc();
        if (_buffered > 0)
            _log.Warning("forwarder stopped with {0} events not acknowledged by a gateway; counted in forkline_forward_dropped_total{{reason=\"shutdown\"}}", _buffered);
        SetBuffered(0);
    }

    private void OnEvent(WireEvent wire)
    {
        if (_buffered >= _settings.MaxBufferedEvents)
        {
            Drop(wire);
            return;
        }
        var outbox = OutboxOf(wire.Host);
        outbox.Enqueue(wire);
        SetBuffered(_buffered + 1);
        if (outbox.HasFullBatch) Send(outbox.TakeSendable(flushPartial: false, DateTime.UtcNow));
    }

    private void OnAck(EventBatchAck ack)
    {
        if (!_outboxes.TryGetValue(ack.Host, out var outbox)) return;
        var released = outbox.Acknowledge(ack.Seq);
        if (released == 0) return;
        _metrics.ForwardAcknowledged.Inc(released);
        SetBuffered(_buffered - released);
        Send(outbox.TakeSendable(flushPartial: false, DateTime.UtcNow));
        if (_buffered == 0) ReleaseDrainWaiters();
    }

    private void OnTick()
    {
        var now = DateTime.UtcNow;
        foreach (var outbox in _outboxes.Values)
        {
            var overdue = outbox.TakeOverdue(now);
            if (overdue.Count > 0) _metrics.ForwardRetries.Inc(overdue.Count);
            Send(overdue);
            Send(outbox.TakeSendable(flushPartial: true, now));
        }
        if (_droppedSinceLog > 0 && now - _lastDropLog >= DropLogInterval)
        {
            _log.Warning("forwarder buffer full ({0} events, no gateway acknowledging): dropped {1} events since the last report; see forkline_forward_dropped_total",
                _settings.MaxBufferedEvents, _droppedSinceLog);
            _droppedSinceLog = 0;
            _lastDropLog = now;
        }
    }

    private void Send(List<EventBatch> batches)
    {
        foreach (var batch in batches) _hostTrees.Tell(batch, Self);
    }

    private void Drop(WireEvent wire)
    {
        _metrics.ForwardDropped.WithLabels(WireConverter.MetricLabel(wire.Kind), "buffer_full").Inc();
        _droppedSinceLog++;
    }

    private HostOutbox OutboxOf(string host)
    {
        if (!_outboxes.TryGetValue(host, out var outbox))
            _outboxes[host] = outbox = new HostOutbox(host, _producerId, _settings);
        return outbox;
    }

    private void SetBuffered(int buffered)
    {
        _buffered = buffered;
        _metrics.ForwardBuffered.Set(buffered);
    }

    private void ReleaseDrainWaiters()
    {
        foreach (var waiter in _awaitingDrain) waiter.Tell(new Drained());
        _awaitingDrain.Clear();
    }
}
