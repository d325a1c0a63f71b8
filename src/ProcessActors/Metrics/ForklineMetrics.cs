using Forkline.Contracts.Snapshots;
using Prometheus;

namespace Forkline.ProcessActors.Metrics;

/// <summary>
/// Every Forkline metric of one node, in one registry. Tests pass their own CollectorRegistry and read
/// values back; the host passes Prometheus.Metrics.DefaultRegistry (or its own) and serves it with
/// <see cref="StartServer"/>. Collector-side metrics live here too so one endpoint shows the whole node.
/// </summary>
public sealed class ForklineMetrics
{
    public ForklineMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        Factory = Prometheus.Metrics.WithCustomRegistry(registry);

        EventsTotal = Factory.CreateCounter("forkline_events_total",
            "Kernel events received by the process actors, by kind.", labelNames: ["kind"]);
        TidPidMismatchTotal = Factory.CreateCounter("forkline_tid_pid_mismatch_total",
            "clone/exec/exit events whose TID was not the PID (corrected to the PID).", labelNames: ["event"]);
        EventCacheResolvedTotal = Factory.CreateCounter("forkline_event_cache_resolved_total",
            "Out-of-order events that waited and then found their process or parent.");
        EventCacheDroppedTotal = Factory.CreateCounter("forkline_event_cache_dropped_total",
            "Out-of-order events that gave up waiting and were emitted flagged incomplete, by reason.", labelNames: ["reason"]);
        EventCacheEvents = Factory.CreateGauge("forkline_event_cache_events",
            "Events waiting in the out-of-order cache now.");
        EventsDiscardedTotal = Factory.CreateCounter("forkline_events_discarded_total",
            "Events not emitted: a newer truth exists (duplicate, superseded by a later image of the pid), or clones_off (a fork that never exec'd while clones are not emitted), by reason.", labelNames: ["reason"]);
        EventsPublishedTotal = Factory.CreateCounter("forkline_events_published_total",
            "Enriched events handed to the sinks (local output, gateway forwarder), by kind.", labelNames: ["kind"]);
        ExitsMissingTotal = Factory.CreateCounter("forkline_exits_missing_total",
            "Processes that ended without an exit event (their pid was reused by a new process).");
        // The gateway counts reason "restart" under the same name and help: one metric in an all-in-one node.
        ExitsConcluded = Factory.CreateCounter("forkline_exits_concluded_total",
            "Processes ended by a concluded exit (gone, their exit never seen): restart = at a collector's start, lost = at a periodic check.",
            labelNames: ["reason"]);
        ProcessesLive = Factory.CreateGauge("forkline_processes_live",
            "Process images tracked by an actor now (running, or exited and still needed).");
        SinkFailuresTotal = Factory.CreateCounter("forkline_sink_failures_total",
            "Enriched events a sink threw on, by sink.", labelNames: ["sink"]);

        BpfProducedEventsTotal = Factory.CreateCounter("forkline_bpf_produced_events_total",
            "Records the BPF programs tried to put into the ring buffer (kept or lost), by kind.", labelNames: ["kind"]);
        BpfLostEventsTotal = Factory.CreateCounter("forkline_bpf_lost_events_total",
            "Records the BPF side could not put into the ring buffer, by kind.", labelNames: ["kind"]);
        RingReaderLagBytes = Factory.CreateGauge("forkline_ring_reader_lag_bytes",
            "Bytes waiting in the ring buffer when the reader last started a drain.");
        DecodeRejectsTotal = Factory.CreateCounter("forkline_decode_rejects_total",
            "Ring-buffer records that failed to decode, by reason.", labelNames: ["reason"]);

        Kinds = new EventKindCounters(EventsTotal);
        Mismatches = new LifecycleCounters(TidPidMismatchTotal);
        Discarded = new DiscardCounters(EventsDiscardedTotal);
        Published = new PublishedCounters(EventsPublishedTotal);
        CacheDrops = new CacheDropCounters(EventCacheDroppedTotal);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Creates further metrics in the same registry (for the host and the collector).</summary>
    public IMetricFactory Factory { get; }

    public Counter EventsTotal { get; }
    public Counter TidPidMismatchTotal { get; }
    public Counter EventCacheResolvedTotal { get; }
    public Counter EventCacheDroppedTotal { get; }
    public Gauge EventCacheEvents { get; }
    public Counter EventsDiscardedTotal { get; }
    public Counter EventsPublishedTotal { get; }
    public Counter ExitsMissingTotal { get; }
    public Counter ExitsConcluded { get; }
    public Gauge ProcessesLive { get; }
    public Counter SinkFailuresTotal { get; }

    /// <summary>Set by the host from the collector's fl_produced map (Counter.IncTo for absolute values).</summary>
    public Counter BpfProducedEventsTotal { get; }

    /// <summary>Set by the host from the collector's loss map (Counter.IncTo for absolute values).</summary>
    public Counter BpfLostEventsTotal { get; }

    public Gauge RingReaderLagBytes { get; }
    public Counter DecodeRejectsTotal { get; }

    /// <summary>The label children of forkline_events_total, looked up once (hot path).</summary>
    internal EventKindCounters Kinds { get; }

    /// <summary>The label children of forkline_tid_pid_mismatch_total.</summary>
    internal LifecycleCounters Mismatches { get; }

    internal DiscardCounters Discarded { get; }

    internal PublishedCounters Published { get; }

    internal CacheDropCounters CacheDrops { get; }

    /// <summary>
    /// Runs <paramref name="refresh"/> before every scrape: the place to copy collector statistics
    /// (lost events, reader lag) into the gauges and counters above.
    /// </summary>
    public void RefreshBeforeScrape(Action refresh) => Registry.AddBeforeCollectCallback(refresh);

    /// <summary>Serves this registry as Prometheus text on http://hostname:port/metrics until disposed.</summary>
    public IMetricServer StartServer(int port, string hostname = "localhost")
    {
        if (port is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(port), port, "metrics port must be 0..65535");
        return new MetricServer(hostname, port, "metrics/", Registry).Start();
    }
}

/// <summary>One counter child per lifecycle event (clone, exec, exit), looked up once so counting does no label lookup.</summary>
internal class LifecycleCounters(Counter counter)
{
    public Counter.Child Clone { get; } = counter.WithLabels("clone");
    public Counter.Child Exec { get; } = counter.WithLabels("exec");
    public Counter.Child Exit { get; } = counter.WithLabels("exit");
}

/// <summary>The lifecycle children plus hook events.</summary>
internal sealed class EventKindCounters(Counter counter) : LifecycleCounters(counter)
{
    public Counter.Child Hook { get; } = counter.WithLabels("hook");
}

internal sealed class DiscardCounters(Counter counter)
{
    /// <summary>An event for an image that is already known (e.g. the procfs bootstrap and BPF both saw it).</summary>
    public Counter.Child Duplicate { get; } = counter.WithLabels("duplicate");

    /// <summary>A clone or exec older than the image its pid already has (a later image arrived first).</summary>
    public Counter.Child Superseded { get; } = counter.WithLabels("superseded");

    /// <summary>The clone or exit of a fork that never exec'd, while clones are not emitted (a setting, not a loss).</summary>
    public Counter.Child ClonesOff { get; } = counter.WithLabels("clones_off");
}

/// <summary>One child of forkline_events_published_total per enriched kind, indexed by <see cref="EnrichedKind"/>.</summary>
internal sealed class PublishedCounters
{
    private static readonly EnrichedKind[] Kinds = Enum.GetValues<EnrichedKind>();
    private readonly Counter.Child[] _byKind;

    public PublishedCounters(Counter counter)
    {
        _byKind = new Counter.Child[(int)Kinds[^1] + 1];
        foreach (var kind in Kinds) _byKind[(int)kind] = counter.WithLabels(kind.ToString().ToLowerInvariant());
    }

    public Counter.Child Of(EnrichedKind kind) => _byKind[(int)kind];

    public long Total
    {
        get
        {
            double total = 0;
            foreach (var kind in Kinds) total += _byKind[(int)kind].Value;
            return (long)total;
        }
    }
}

internal sealed class CacheDropCounters(Counter counter)
{
    public Counter.Child Age { get; } = counter.WithLabels("age");
    public Counter.Child Capacity { get; } = counter.WithLabels("capacity");
    public Counter.Child Shutdown { get; } = counter.WithLabels("shutdown");
}
