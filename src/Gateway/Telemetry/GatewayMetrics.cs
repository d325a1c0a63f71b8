using Akka.Actor;
using Akka.Cluster;
using Forkline.Gateway.Cluster;
using Prometheus;

namespace Forkline.Gateway.Telemetry;

/// <summary>
/// The gateway's Prometheus metrics, created in one registry so several nodes in one process (tests) can
/// each count on their own. The forwarder's are its own (Forkline.Forwarding.ForwarderMetrics).
/// </summary>
public sealed class GatewayMetrics
{
    private static readonly string[] Roles = [Cluster.FleetRoles.Gateway];
    private static readonly MemberStatus[] Statuses = Enum.GetValues<MemberStatus>();

    private readonly CollectorRegistry _registry;

    public GatewayMetrics(CollectorRegistry registry)
    {
        _registry = registry;
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        IngestRefused = factory.CreateCounter("forkline_ingest_refused_total",
            "Collector streams (or messages on them) a gateway refused, by reason (no_identity, unknown_token, untrusted_certificate, other_host, gateway_not_up, malformed).",
            new CounterConfiguration { LabelNames = ["reason"] });
        IngestStreams = factory.CreateGauge("forkline_ingest_streams",
            "Collector streams open on this gateway.");
        IngestBatches = factory.CreateCounter("forkline_ingest_messages_total",
            "Batches and run reports collectors sent this gateway, by outcome (acknowledged, timed_out, stream_ended, unexpected_answer; asked_again: one attempt of the ask unanswered, sent to the entity again); timed_out, stream_ended and unexpected_answer are sent again by the collector.",
            new CounterConfiguration { LabelNames = ["outcome"] });
        // The process actors count reason "lost" under the same name and help: one metric in an all-in-one node.
        ExitsConcluded = factory.CreateCounter("forkline_exits_concluded_total",
            "Processes ended by a concluded exit (gone, their exit never seen): restart = at a collector's start, lost = at a periodic check.",
            new CounterConfiguration { LabelNames = ["reason"] });
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
        ClusterMembers = factory.CreateGauge("forkline_cluster_members",
            "Cluster members as this node sees them, by role and membership status (a gateway killed is still up, and unreachable, until it is downed).",
            new GaugeConfiguration { LabelNames = ["role", "status"] });
        ClusterUnreachable = factory.CreateGauge("forkline_cluster_unreachable_members",
            "Cluster members this node's failure detector (or another member's) reports unreachable, by role.",
            new GaugeConfiguration { LabelNames = ["role"] });
    }

    public Counter IngestRefused { get; }
    public Gauge IngestStreams { get; }
    public Counter IngestBatches { get; }
    public Counter GatewayEvents { get; }
    public Counter ExitsConcluded { get; }
    public Counter ProjectionEvents { get; }
    public Counter ProjectionFailures { get; }
    public Counter StreamDropped { get; }
    public Gauge HostRunEvents { get; }
    public Gauge ClusterMembers { get; }
    public Gauge ClusterUnreachable { get; }

    /// <summary>Reads the node's view of the cluster membership into the cluster gauges before every scrape.</summary>
    public void ObserveCluster(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        _registry.AddBeforeCollectCallback(() =>
        {
            var state = cluster.State;
            foreach (var role in Roles)
            {
                foreach (var status in Statuses)
                    ClusterMembers.WithLabels(role, StatusLabel(status)).Set(state.Members.Count(m => m.Status == status && m.HasRole(role)));
                ClusterUnreachable.WithLabels(role).Set(state.Unreachable.Count(m => m.HasRole(role)));
            }
        });
    }

    private static string StatusLabel(MemberStatus status) => status.ToString().ToLowerInvariant();
}
