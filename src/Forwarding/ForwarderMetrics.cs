using System.Diagnostics.Metrics;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;

namespace Forkline.Forwarding;

/// <summary>
/// The forwarder's metrics, on the meter <see cref="MeterName"/> made by the node's <see cref="IMeterFactory"/>;
/// the node's host exports them (Prometheus, /metrics).
/// </summary>
public sealed class ForwarderMetrics
{
    public const string MeterName = "Forkline.Forwarding";

    private readonly Counter<long> _dropped;
    private readonly Counter<long> _acknowledged;
    private readonly Counter<long> _retries;
    private readonly Gauge<long> _buffered;
    private readonly Counter<long> _linkChanges;

    public ForwarderMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _dropped = meter.CreateCounter<long>("forkline_forward_dropped_total", description:
            "Enriched events the forwarder dropped instead of delivering (buffer full while no gateway acknowledged, or still unacknowledged at shutdown).");
        _acknowledged = meter.CreateCounter<long>("forkline_forward_acknowledged_total", description:
            "Enriched events a gateway acknowledged to this forwarder.");
        _retries = meter.CreateCounter<long>("forkline_forward_retries_total", description:
            "Event batches sent again because no acknowledgement came in time.");
        _buffered = meter.CreateGauge<long>("forkline_forward_buffered_events", description:
            "Enriched events held by the forwarder: waiting to be sent or sent and not yet acknowledged.");
        _linkChanges = meter.CreateCounter<long>("forkline_forward_link_changes_total", description:
            "Times the collector's stream to a gateway opened or was lost, by event (connected, lost, refused).");
        // The series without labels are on /metrics from the start.
        _acknowledged.Add(0);
        _retries.Add(0);
        _buffered.Record(0);
    }

    /// <param name="reason">buffer_full or shutdown.</param>
    internal void Dropped(WireEventKind kind, string reason) =>
        _dropped.Add(1, new KeyValuePair<string, object?>("kind", WireConverter.MetricLabel(kind)), new KeyValuePair<string, object?>("reason", reason));

    internal void Acknowledged(int events) => _acknowledged.Add(events);

    internal void Resent(int batches) => _retries.Add(batches);

    internal void Buffered(int events) => _buffered.Record(events);

    /// <param name="linkEvent">connected, lost or refused.</param>
    internal void LinkChanged(string linkEvent) => _linkChanges.Add(1, new KeyValuePair<string, object?>("event", linkEvent));
}
