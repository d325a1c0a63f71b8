using Prometheus;

namespace Forkline.Gateway.Telemetry;

/// <summary>
/// The gateway's and forwarder's Prometheus metrics, created in one registry so several nodes in one
/// process (tests) can each count on their own.
/// </summary>
public sealed class GatewayMetrics
{
    public GatewayMetrics(CollectorRegistry registry)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        ForwardDropped = factory.CreateCounter("forkline_forward_dropped_total",
            "Enriched events the forwarder dropped instead of delivering (buffer full while no gateway acknowledged, or still unacknowledged at shutdown).",
            new CounterConfiguration { LabelNames = ["kind", "reason"] });
        ForwardAcknowledged = factory.CreateCounter("forkline_forward_acknowledged_total",
            "Enriched events a gateway acknowledged to this forwarder.");
        ForwardRetries = factory.CreateCounter("forkline_forward_retries_total",
            "Event batches sent again because no acknowledgement came in time.");
        ForwardBuffered = factory.CreateGauge("forkline_forward_buffered_events",
            "Enriched events held by the forwarder: waiting to be sent or sent and not yet acknowledged.");
        GatewayEvents = factory.CreateCounter("forkline_gateway_events_total",
            "Events received by host entities, by kind and outcome (accepted, duplicate, malformed).",
            new CounterConfiguration { LabelNames = ["kind", "outcome"] });
        ProjectionEvents = factory.CreateCounter("forkline_projection_events_total",
            "Journal events the history projection has applied to the processes table.");
        ProjectionFailures = factory.CreateCounter("forkline_projection_failures_total",
            "Times the history projection failed and restarted from its stored offset.");
        HostRunEvents = factory.CreateGauge("forkline_host_run_events",
            "Loss accounting of each host's latest collector run, by stage (produced, ring_lost, malformed, discarded, withheld, sink_failures, forward_dropped, acknowledged, stored, in_flight), as of its latest report.",
            new GaugeConfiguration { LabelNames = ["host", "stage"] });
        StreamDropped = factory.CreateCounter("forkline_stream_dropped_total",
            "Live events not delivered to a slow stream subscriber (its queue was full).");
    }

    public Counter ForwardDropped { get; }
    public Counter ForwardAcknowledged { get; }
    public Counter ForwardRetries { get; }
    public Gauge ForwardBuffered { get; }
    public Counter GatewayEvents { get; }
    public Counter ProjectionEvents { get; }
    public Counter ProjectionFailures { get; }
    public Counter StreamDropped { get; }
    public Gauge HostRunEvents { get; }
}
