using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Ingest;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Accounting;
using Forkline.Gateway.Cluster;

namespace Forkline.Forwarding;

/// <summary>
/// Collector side of the delivery protocol: batches each host's events, sends them to the host
/// entities (<see cref="ForwarderDelivery"/>: over a collector's gRPC link to the gateways, or to the
/// shard region of its own node in <c>forkline run</c>), resends what is not acknowledged in time or
/// when a new stream to a gateway opens, and
/// holds at most <see cref="ForwarderSettings.MaxBufferedEvents"/>; past that, new events are
/// dropped and counted in <c>forkline_forward_dropped_total</c>. Once told to (<see cref="StartReporting"/>),
/// it also sends the run's loss accounting to the host's entity: periodically, and once final.
/// </summary>
public sealed class ForwarderActor : ReceiveActor, IWithTimers
{
    /// <summary>Reply <see cref="Drained"/> once nothing is buffered (all acknowledged).</summary>
    public sealed record AwaitDrained;

    public sealed record Drained;

    /// <summary>
    /// Report the run's loss accounting for <paramref name="Host"/> now, then every ReportInterval when it changed
    /// and every UnchangedReportInterval when it did not; upstream is read at each look.
    /// </summary>
    public sealed record StartReporting(string Host, Func<UpstreamCounts> Upstream);

    /// <summary>Send the run's final report; reply <see cref="FinalReportDelivered"/> once the host's entity has it.</summary>
    public sealed record ReportFinal;

    public sealed record FinalReportDelivered;

    /// <summary>One burst of the process actors, converted to the wire form, in order.</summary>
    public sealed record ForwardEvents(WireEvent[] Events);

    private sealed record Tick;

    private sealed record ReportTick;

    private static readonly TimeSpan FinalReportResendEvery = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan DropLogInterval = TimeSpan.FromSeconds(10);

    private readonly IActorRef _delivery;
    private readonly ForwarderSettings _settings;
    private readonly ForwarderMetrics _metrics;
    private readonly string _producerId = Guid.NewGuid().ToString("N");
    private readonly Dictionary<string, HostOutbox> _outboxes = [];
    private readonly List<IActorRef> _awaitingDrain = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _buffered;
    private long _droppedSinceLog;
    private DateTime _lastDropLog = DateTime.MinValue;
    private StartReporting? _reporting;
    private ulong _reportSeq;
    private (UpstreamCounts Upstream, ForwardCounts Forward)? _lastReported;
    private DateTime _lastReportedAt;
    private CollectorRunReport? _finalReport;
    private bool _finalDelivered;
    private readonly List<IActorRef> _awaitingFinal = [];

    public ForwarderActor(ForwarderDelivery delivery, ForwarderSettings settings, ForwarderMetrics metrics)
    {
        _delivery = delivery switch
        {
            ForwarderDelivery.ToHostTrees local => local.HostTrees,
            ForwarderDelivery.OverGrpc link => Context.ActorOf(GrpcGatewayLink.Props(link.Link, metrics), "gateway-link"),
            _ => throw new ArgumentOutOfRangeException(nameof(delivery), delivery, "not a way to deliver"),
        };
        _settings = settings;
        _metrics = metrics;

        Receive<ForwardEvents>(OnEvents);
        Receive<EventBatchAck>(OnAck);
        Receive<Deferred>(OnDeferred);
        Receive<Tick>(_ => OnTick());
        Receive<StartReporting>(OnStartReporting);
        Receive<ReportTick>(_ => OnReportTick());
        Receive<ReportFinal>(_ => OnReportFinal());
        Receive<CollectorRunReportAck>(OnReportAck);
        Receive<GrpcGatewayLink.StreamOpened>(_ => OnStreamOpened());
        // Asked once at a collector's start; the host entity (or the link, for the stream's answer) replies to the asker.
        // It names this run, which the entity records as the one that found earlier runs ended and closed the gap.
        Receive<ReconcileHost>(request => _delivery.Forward(request.RunId.Length > 0 ? request : new ReconcileHost(request) { RunId = _producerId }));
        Receive<AwaitDrained>(_ =>
        {
            if (_buffered == 0)
            {
                Sender.Tell(new Drained());
                return;
            }
            _awaitingDrain.Add(Sender);
            // A stop waits for the drain: what lingers goes now.
            var now = DateTime.UtcNow;
            foreach (var outbox in _outboxes.Values) Send(outbox.TakeSendable(flushPartial: true, now));
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ForwarderDelivery delivery, ForwarderSettings settings, ForwarderMetrics metrics) =>
        Akka.Actor.Props.Create(() => new ForwarderActor(delivery, settings, metrics));

    protected override void PostStop()
    {
        foreach (var outbox in _outboxes.Values)
            foreach (var wire in outbox.DropAllAtShutdown())
                _metrics.Dropped(wire.Kind, "shutdown");
        if (_buffered > 0)
            _log.Warning("forwarder stopped with {0} events not acknowledged by a gateway; counted in forkline_forward_dropped_total{{reason=\"shutdown\"}}", _buffered);
        SetBuffered(0);
    }

    /// <summary>
    /// Full batches go out at once. A partial batch goes once its first event has waited Linger, and then
    /// only when nothing of its host is in flight; otherwise it grows until the next ack (or the flush tick):
    /// like Nagle's algorithm, batches grow with the gateway's round trip, so a busy host costs the journal
    /// one write per round trip, not one per burst, and a host at a trickle one per Linger.
    /// </summary>
    private void OnEvents(ForwardEvents events)
    {
        var now = DateTime.UtcNow;
        foreach (var wire in events.Events)
        {
            var outbox = OutboxOf(wire.Host);
            if (_buffered >= _settings.MaxBufferedEvents)
            {
                outbox.CountDroppedFull(wire);
                Drop(wire);
                continue;
            }
            outbox.Enqueue(wire, now);
            SetBuffered(_buffered + 1);
            if (outbox.HasFullBatch) Send(outbox.TakeSendable(flushPartial: false, now));
        }
        foreach (var outbox in _outboxes.Values)
            Send(outbox.TakeSendable(flushPartial: outbox.InFlightBatches == 0 && outbox.LingerOver(now), now));
        ArmFlushTick(now);
    }

    /// <summary>
    /// The flush tick runs only while something is held (waiting, or unacknowledged): an idle forwarder never
    /// wakes. While only waiting events are held it comes when the first of them has lingered, not before.
    /// </summary>
    private void ArmFlushTick(DateTime now)
    {
        if (_buffered == 0 || Timers.IsTimerActive(nameof(Tick))) return;
        var delay = _settings.FlushInterval;
        var anyInFlight = false;
        var lingerLeft = TimeSpan.MaxValue;
        foreach (var outbox in _outboxes.Values)
        {
            anyInFlight |= outbox.InFlightBatches > 0;
            var left = outbox.LingerLeft(now);
            if (left > TimeSpan.Zero && left < lingerLeft) lingerLeft = left;
        }
        if (!anyInFlight && lingerLeft != TimeSpan.MaxValue) delay = lingerLeft;
        Timers.StartSingleTimer(nameof(Tick), new Tick(), delay);
    }

    private void OnAck(EventBatchAck ack)
    {
        if (!_outboxes.TryGetValue(ack.Host, out var outbox)) return;
        var released = outbox.Acknowledge(ack.Seq);
        if (released == 0) return;
        _metrics.Acknowledged(released);
        SetBuffered(_buffered - released);
        var now = DateTime.UtcNow;
        Send(outbox.TakeSendable(flushPartial: _awaitingDrain.Count > 0 || outbox.LingerOver(now), now));
        if (_buffered == 0) ReleaseDrainWaiters();
    }

    /// <summary>The gateway gave up asking the host's entity for this batch: it goes again now, unless another copy is still being asked.</summary>
    private void OnDeferred(Deferred deferred)
    {
        if (!_outboxes.TryGetValue(deferred.Host, out var outbox) || outbox.TakeDeferred(deferred.Seq, DateTime.UtcNow) is not { } batch) return;
        _metrics.Resent(1);
        Send([batch]);
    }

    private void OnTick()
    {
        var now = DateTime.UtcNow;
        ResendThenFlush(static (outbox, at) => outbox.TakeOverdue(at), now);
        if (_droppedSinceLog > 0 && now - _lastDropLog >= DropLogInterval)
        {
            _log.Warning("forwarder buffer full ({0} events, no gateway acknowledging): dropped {1} events since the last report; see forkline_forward_dropped_total",
                _settings.MaxBufferedEvents, _droppedSinceLog);
            _droppedSinceLog = 0;
            _lastDropLog = now;
        }
        ArmFlushTick(now);
    }

    /// <summary>A gateway took a new stream: what the last one left unacknowledged goes again now, not after its ack timeout.</summary>
    private void OnStreamOpened()
    {
        var now = DateTime.UtcNow;
        ResendThenFlush(static (outbox, at) => outbox.TakeAllInFlight(at), now);
        if (_finalReport is not null && !_finalDelivered) _delivery.Tell(_finalReport, Self);
        else if (_reporting is not null) SendReport(ReadCounts(), final: false);
        ArmFlushTick(now);
    }

    /// <summary>
    /// Per host: the batches <paramref name="takeResends"/> picks go again (counted as retries), then what waits
    /// and has lingered (all of it while a stop waits for the drain).
    /// </summary>
    private void ResendThenFlush(Func<HostOutbox, DateTime, List<EventBatch>> takeResends, DateTime now)
    {
        foreach (var outbox in _outboxes.Values)
        {
            var resends = takeResends(outbox, now);
            if (resends.Count > 0) _metrics.Resent(resends.Count);
            Send(resends);
            Send(outbox.TakeSendable(flushPartial: _awaitingDrain.Count > 0 || outbox.LingerOver(now), now));
        }
    }

    private void OnStartReporting(StartReporting reporting)
    {
        _reporting = reporting;
        SendReport(ReadCounts(), final: false);
        Timers.StartPeriodicTimer("report", new ReportTick(), _settings.ReportInterval);
    }

    /// <summary>An idle host's counts do not change: they go again only every UnchangedReportInterval.</summary>
    private void OnReportTick()
    {
        if (_finalReport is not null)
        {
            if (!_finalDelivered) _delivery.Tell(_finalReport, Self);
            return;
        }
        var counts = ReadCounts();
        if (counts == _lastReported && DateTime.UtcNow - _lastReportedAt < _settings.UnchangedReportInterval) return;
        SendReport(counts, final: false);
    }

    private void OnReportFinal()
    {
        if (_reporting is null)
        {
            Sender.Tell(new Status.Failure(new InvalidOperationException("the forwarder was never told to report (StartReporting)")));
            return;
        }
        if (_finalDelivered)
        {
            Sender.Tell(new FinalReportDelivered());
            return;
        }
        _awaitingFinal.Add(Sender);
        if (_finalReport is not null) return;
        _finalReport = SendReport(ReadCounts(), final: true);
        Timers.StartPeriodicTimer("report", new ReportTick(), FinalReportResendEvery);
    }

    private void OnReportAck(CollectorRunReportAck ack)
    {
        if (_finalReport is null || _finalDelivered || ack.ReportSeq != _finalReport.ReportSeq) return;
        _finalDelivered = true;
        Timers.Cancel("report");
        foreach (var waiter in _awaitingFinal) waiter.Tell(new FinalReportDelivered());
        _awaitingFinal.Clear();
    }

    /// <summary>The forwarder's counts are read before upstream's, so a report never shows more out of a stage than into it.</summary>
    private (UpstreamCounts Upstream, ForwardCounts Forward) ReadCounts()
    {
        var reporting = _reporting!;
        var forward = _outboxes.TryGetValue(reporting.Host, out var outbox) ? outbox.Counts : default;
        return (reporting.Upstream(), forward);
    }

    private CollectorRunReport SendReport((UpstreamCounts Upstream, ForwardCounts Forward) counts, bool final)
    {
        var (upstream, forward) = counts;
        var now = DateTime.UtcNow;
        var report = RunReportWire.ToWire(new RunReport(_reporting!.Host, _producerId, upstream.SourceName, upstream.StartedUtc,
            now, ++_reportSeq, final, upstream.Source, upstream.Pipeline, forward));
        _delivery.Tell(report, Self);
        (_lastReported, _lastReportedAt) = (counts, now);
        return report;
    }

    private void Send(List<EventBatch> batches)
    {
        foreach (var batch in batches) _delivery.Tell(batch, Self);
    }

    private void Drop(WireEvent wire)
    {
        _metrics.Dropped(wire.Kind, "buffer_full");
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
        _metrics.Buffered(buffered);
    }

    private void ReleaseDrainWaiters()
    {
        foreach (var waiter in _awaitingDrain) waiter.Tell(new Drained());
        _awaitingDrain.Clear();
    }
}
