using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Cluster;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Api;
using Forkline.Gateway.Cluster;

namespace Forkline.Gateway.Telemetry;

/// <summary>
/// The gateway's metrics, on the meter <see cref="MeterName"/> made by the node's <see cref="IMeterFactory"/>; the
/// node's host exports them (Prometheus, /metrics). The forwarder's are its own (Forkline.Forwarding.ForwarderMetrics),
/// the database's are <see cref="Storage.StoreHealth"/>'s.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "Forkline.Gateway";

    private static readonly string[] Roles = [FleetRoles.Gateway];
    private static readonly MemberStatus[] Statuses = Enum.GetValues<MemberStatus>();

    private readonly Counter<long> _ingestRefused;
    private readonly UpDownCounter<long> _ingestStreams;
    private readonly Counter<long> _ingestStreamsEnded;
    private readonly Counter<long> _ingestMessages;
    private readonly Counter<long> _exitsConcluded;
    private readonly Counter<long> _events;
    private readonly Counter<long> _projectionEvents;
    private readonly Counter<long> _projectionFailures;
    private readonly Counter<long> _streamDropped;
    private readonly Counter<long> _apiErrors;
    private readonly Counter<long> _hostRecoveries;
    private readonly Counter<double> _hostRecoverySeconds;
    private readonly Counter<long> _hostRecoveryEntries;
    private readonly Counter<long> _goneMembersDowned;
    private readonly ConcurrentDictionary<string, KeyValuePair<string, long>[]> _hostRuns = new(StringComparer.Ordinal);
    private Akka.Cluster.Cluster? _cluster;

    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _ingestRefused = meter.CreateCounter<long>("forkline_ingest_refused_total", description:
            "Collector streams (or messages on them) a gateway refused, by reason (no_identity, unknown_token, untrusted_certificate, other_host, gateway_not_up, malformed).");
        _ingestStreams = meter.CreateUpDownCounter<long>("forkline_ingest_streams", description:
            "Collector streams open on this gateway.");
        _ingestStreamsEnded = meter.CreateCounter<long>("forkline_ingest_streams_ended_total", description:
            "Collector streams that ended, by how: closed (the collector closed its side and got its last acks) or reset (the collector cancelled its stream, as it does when it stops or moves to another gateway, or the connection broke); what was not acknowledged on a reset stream the collector sends again on its next one.");
        _ingestMessages = meter.CreateCounter<long>("forkline_ingest_messages_total", description:
            "Batches and run reports collectors sent this gateway, by outcome (acknowledged, timed_out, stream_ended, unexpected_answer; asked_again: unanswered while a gateway that left may have lost it, sent to the entity again); timed_out, stream_ended and unexpected_answer are sent again by the collector.");
        // The process actors count reason "lost" under the same name and help: one metric in an all-in-one node.
        _exitsConcluded = meter.CreateCounter<long>("forkline_exits_concluded_total", description:
            "Processes ended by a concluded exit (gone, their exit never seen): restart = at a collector's start, lost = at a periodic check.");
        _events = meter.CreateCounter<long>("forkline_gateway_events_total", description:
            "Events received by host entities, by kind and outcome (accepted, duplicate, malformed).");
        _projectionEvents = meter.CreateCounter<long>("forkline_projection_events_total", description:
            "Journal events the history projection has applied to the processes table.");
        _projectionFailures = meter.CreateCounter<long>("forkline_projection_failures_total", description:
            "Times the history projection failed and restarted from its stored offset.");
        meter.CreateObservableGauge("forkline_host_run_events", ObserveHostRuns, description:
            "Loss accounting of each host's latest collector run, by stage (produced, ring_lost, malformed, discarded, withheld, sink_failures, forward_dropped, acknowledged, stored, in_flight), as of its latest report.");
        _streamDropped = meter.CreateCounter<long>("forkline_stream_dropped_total", description:
            "Live events not delivered to a slow stream subscriber (its queue was full).");
        meter.CreateObservableGauge("forkline_cluster_members", ObserveMembers, description:
            "Cluster members as this node sees them, by role and membership status (a gateway killed is still up, and unreachable, until it is downed).");
        meter.CreateObservableGauge("forkline_cluster_unreachable_members", ObserveUnreachable, description:
            "Cluster members this node's failure detector (or another member's) reports unreachable, by role.");
        _apiErrors = meter.CreateCounter<long>("forkline_api_errors_total", description:
            "API requests answered with an error, by status code and transport.");
        _hostRecoveries = meter.CreateCounter<long>("forkline_host_recoveries_total", description:
            "Host entities this gateway started from the store (snapshot and journal): at its start, at a host's first message after passivation, and for every host whose shard moved here (a failover).");
        _hostRecoverySeconds = meter.CreateCounter<double>("forkline_host_recovery_seconds_total", description:
            "Time host entities spent recovering, from their start to the end of their replay: over forkline_host_recoveries_total, what a moved host waits before its batches are acknowledged again.");
        _hostRecoveryEntries = meter.CreateCounter<long>("forkline_host_recovery_entries_total", description:
            "Journal entries host entities replayed while recovering (after their latest snapshot; Gateway HostTree:SnapshotEvery bounds them).");
        _goneMembersDowned = meter.CreateCounter<long>("forkline_cluster_gone_members_downed_total", description:
            "Cluster members this gateway downed because their port refused connections after their association broke (a process that is gone), without waiting for the failure detector and the split-brain resolver.");
        // The series without labels are on /metrics from the start.
        _ingestStreams.Add(0);
        _projectionEvents.Add(0);
        _projectionFailures.Add(0);
        _streamDropped.Add(0);
        _hostRecoveries.Add(0);
        _hostRecoverySeconds.Add(0);
        _hostRecoveryEntries.Add(0);
        _goneMembersDowned.Add(0);
    }

    /// <param name="reason">no_identity, unknown_token, untrusted_certificate, other_host, gateway_not_up or malformed.</param>
    public void IngestRefused(string reason) => _ingestRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void IngestStreamOpened() => _ingestStreams.Add(1);

    /// <param name="how">closed or reset.</param>
    public void IngestStreamClosed(string how)
    {
        _ingestStreams.Add(-1);
        _ingestStreamsEnded.Add(1, new KeyValuePair<string, object?>("how", how));
    }

    /// <param name="outcome">acknowledged, timed_out, stream_ended, unexpected_answer or asked_again.</param>
    public void IngestMessage(string outcome) => _ingestMessages.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <param name="reason">restart.</param>
    public void ExitsConcluded(string reason, int processes) => _exitsConcluded.Add(processes, new KeyValuePair<string, object?>("reason", reason));

    /// <param name="kind">The event's kind (<see cref="WireConverter.MetricLabel"/>) or run_report.</param>
    /// <param name="outcome">accepted, duplicate or malformed.</param>
    public void Event(string kind, string outcome) =>
        _events.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("outcome", outcome));

    public void Event(WireEventKind kind, string outcome) => Event(WireConverter.MetricLabel(kind), outcome);

    public void Projected(long events) => _projectionEvents.Add(events);

    public void ProjectionFailed() => _projectionFailures.Add(1);

    public void StreamDropped() => _streamDropped.Add(1);

    public void GoneMemberDowned() => _goneMembersDowned.Add(1);

    /// <summary>A host entity finished its recovery: how long it took and how many journal entries it replayed.</summary>
    public void HostRecovered(TimeSpan took, long entries)
    {
        _hostRecoveries.Add(1);
        _hostRecoverySeconds.Add(took.TotalSeconds);
        _hostRecoveryEntries.Add(entries);
    }

    public void ApiError(ApiErrorCode code, ApiTransport transport) =>
        _apiErrors.Add(1, new KeyValuePair<string, object?>("code", code.Label()),
            new KeyValuePair<string, object?>("transport", transport == ApiTransport.Grpc ? "grpc" : "http"));

    /// <summary>The loss accounting of <paramref name="host"/>'s latest run, by stage, as forkline_host_run_events shows it.</summary>
    public void HostRun(string host, KeyValuePair<string, long>[] stages) => _hostRuns[host] = stages;

    /// <summary>The host's entity left this node (it moved, or stopped): its accounting is shown where it lives now.</summary>
    public void HostRunGone(string host) => _hostRuns.TryRemove(host, out _);

    /// <summary>The cluster membership gauges read this node's view of the cluster from now on.</summary>
    public void ObserveCluster(ActorSystem system) => Volatile.Write(ref _cluster, Akka.Cluster.Cluster.Get(system));

    private IEnumerable<Measurement<long>> ObserveHostRuns()
    {
        foreach (var (host, stages) in _hostRuns)
            foreach (var (stage, value) in stages)
                yield return new Measurement<long>(value, new KeyValuePair<string, object?>("host", host), new KeyValuePair<string, object?>("stage", stage));
    }

    private IEnumerable<Measurement<long>> ObserveMembers()
    {
        if (Volatile.Read(ref _cluster) is not { } cluster) yield break;
        var state = cluster.State;
        foreach (var role in Roles)
            foreach (var status in Statuses)
                yield return new Measurement<long>(state.Members.Count(m => m.Status == status && m.HasRole(role)),
                    new KeyValuePair<string, object?>("role", role), new KeyValuePair<string, object?>("status", StatusLabel(status)));
    }

    private IEnumerable<Measurement<long>> ObserveUnreachable()
    {
        if (Volatile.Read(ref _cluster) is not { } cluster) yield break;
        var state = cluster.State;
        foreach (var role in Roles)
            yield return new Measurement<long>(state.Unreachable.Count(m => m.HasRole(role)), new KeyValuePair<string, object?>("role", role));
    }

    private static string StatusLabel(MemberStatus status) => status.ToString().ToLowerInvariant();
}
