using System.Diagnostics.Metrics;
using Forkline.Contracts.Snapshots;

namespace Forkline.ProcessActors.Metrics;

/// <summary>
/// The process actors' metrics, on the meter <see cref="MeterName"/> made by the node's <see cref="IMeterFactory"/>;
/// the node's host exports them (Prometheus, /metrics). The actors count into <see cref="Tally"/>s, which the meter's
/// observable instruments read at each scrape and the run's loss accounting reads at each report: counting an event
/// is one interlocked add, with no tags to pass and no listener to call, and nothing is counted twice.
/// Every series the actors know of up front is shown, at 0, from the start.
/// </summary>
public sealed class ProcessActorMetrics
{
    public const string MeterName = "Forkline.ProcessActors";

    public ProcessActorMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter<long>("forkline_events_total", Kinds.Family.Observe,
            description: "Kernel events received by the process actors, by kind.");
        meter.CreateObservableCounter<long>("forkline_tid_pid_mismatch_total", Mismatches.Family.Observe,
            description: "clone/exec/exit events whose TID was not the PID (corrected to the PID).");
        meter.CreateObservableCounter<long>("forkline_event_cache_resolved_total", () => EventCacheResolvedTotal.Value,
            description: "Out-of-order events that waited and then found their process or parent.");
        meter.CreateObservableCounter<long>("forkline_event_cache_dropped_total", CacheDrops.Family.Observe,
            description: "Out-of-order events that gave up waiting and were emitted flagged incomplete, by reason.");
        meter.CreateObservableGauge<long>("forkline_event_cache_events", () => EventCacheEvents.Value,
            description: "Events waiting in the out-of-order cache now.");
        meter.CreateObservableCounter<long>("forkline_events_discarded_total", Discarded.Family.Observe,
            description: "Events not emitted: a newer truth exists (duplicate, superseded by a later image of the pid), or clones_off (a fork that never exec'd while clones are not emitted), by reason.");
        meter.CreateObservableCounter<long>("forkline_events_published_total", Published.Family.Observe,
            description: "Enriched events handed to the sinks (local output, gateway forwarder), by kind.");
        meter.CreateObservableCounter<long>("forkline_exits_missing_total", () => ExitsMissingTotal.Value,
            description: "Processes that ended without an exit event (their pid was reused by a new process).");
        // The gateway counts reason "restart" under the same name and help: one metric in an all-in-one node.
        meter.CreateObservableCounter<long>("forkline_exits_concluded_total", ExitsConcluded.Observe,
            description: "Processes ended by a concluded exit (gone, their exit never seen): restart = at a collector's start, lost = at a periodic check.");
        meter.CreateObservableGauge<long>("forkline_processes_live", () => ProcessesLive.Value,
            description: "Process images tracked by an actor now (running, or exited and still needed).");
        meter.CreateObservableCounter<long>("forkline_sink_failures_total", SinkFailuresTotal.Observe,
            description: "Enriched events a sink threw on, by sink.");
    }

    /// <summary>forkline_events_total, by kind (counted as the events enter the pipeline).</summary>
    internal EventKindCounters Kinds { get; } = new(new LabelledTallies("kind"));

    /// <summary>forkline_tid_pid_mismatch_total, by lifecycle event.</summary>
    internal LifecycleCounters Mismatches { get; } = new(new LabelledTallies("event"));

    internal Tally EventCacheResolvedTotal { get; } = new();

    internal CacheDropCounters CacheDrops { get; } = new(new LabelledTallies("reason"));

    /// <summary>A level, not a count: set to the cache's size.</summary>
    internal Tally EventCacheEvents { get; } = new();

    internal DiscardCounters Discarded { get; } = new(new LabelledTallies("reason"));

    internal PublishedCounters Published { get; } = new(new LabelledTallies("kind"));

    internal Tally ExitsMissingTotal { get; } = new();

    /// <summary>By reason (<see cref="ProcessExit.ReasonOf"/>): the actors conclude "lost"; it is shown from the start.</summary>
    internal LabelledTallies ExitsConcluded { get; } = new("reason", ProcessExit.ReasonOf(ExitConclusion.Lost));

    /// <summary>A level, not a count: set to the number of tracked images.</summary>
    internal Tally ProcessesLive { get; } = new();

    /// <summary>By sink (its type's name): a pipeline adds its sinks' series as it starts.</summary>
    internal LabelledTallies SinkFailuresTotal { get; } = new("sink");
}

/// <summary>
/// A running count (or a level) of one series, written by the actors and read by the observation and the loss
/// accounting, on other threads.
/// </summary>
internal sealed class Tally
{
    private long _value;

    public long Value => Volatile.Read(ref _value);

    public void Inc(long by = 1) => Interlocked.Add(ref _value, by);

    public void Set(long value) => Volatile.Write(ref _value, value);
}

/// <summary>
/// The series of one labelled counter: a <see cref="Tally"/> per value of its one label. A series shows from when it is
/// added; hot paths keep the tally <see cref="Of"/> returns, so counting never looks a label up.
/// </summary>
internal sealed class LabelledTallies
{
    private readonly string _label;
    private readonly Lock _adding = new();
    private Series[] _series = [];

    /// <param name="known">The values shown, at 0, from the start.</param>
    public LabelledTallies(string label, params string[] known)
    {
        _label = label;
        foreach (var value in known) Of(value);
    }

    /// <summary>The tally of <paramref name="value"/>, added at its first use.</summary>
    public Tally Of(string value)
    {
        foreach (var series in Volatile.Read(ref _series))
            if (series.Value == value) return series.Tally;
        lock (_adding)
        {
            foreach (var series in _series)
                if (series.Value == value) return series.Tally;
            var added = new Series(value, new KeyValuePair<string, object?>(_label, value), new Tally());
            Volatile.Write(ref _series, [.. _series, added]);
            return added.Tally;
        }
    }

    /// <summary>Every series' value now (at a scrape: it allocates the answer).</summary>
    public Measurement<long>[] Observe()
    {
        var all = Volatile.Read(ref _series);
        var measurements = new Measurement<long>[all.Length];
        for (var i = 0; i < all.Length; i++) measurements[i] = new Measurement<long>(all[i].Tally.Value, all[i].Tag);
        return measurements;
    }

    private sealed record Series(string Value, KeyValuePair<string, object?> Tag, Tally Tally);
}

/// <summary>One tally per lifecycle event (clone, exec, exit), looked up once.</summary>
internal class LifecycleCounters(LabelledTallies family)
{
    public LabelledTallies Family => family;
    public Tally Clone { get; } = family.Of("clone");
    public Tally Exec { get; } = family.Of("exec");
    public Tally Exit { get; } = family.Of("exit");
}

/// <summary>The lifecycle tallies plus hook events.</summary>
internal sealed class EventKindCounters(LabelledTallies family) : LifecycleCounters(family)
{
    public Tally Hook { get; } = family.Of("hook");
}

internal sealed class DiscardCounters(LabelledTallies family)
{
    public LabelledTallies Family => family;

    /// <summary>An event for an image that is already known (e.g. the procfs bootstrap and BPF both saw it).</summary>
    public Tally Duplicate { get; } = family.Of("duplicate");

    /// <summary>A clone or exec older than the image its pid already has (a later image arrived first).</summary>
    public Tally Superseded { get; } = family.Of("superseded");

    /// <summary>The clone or exit of a fork that never exec'd, while clones are not emitted (a setting, not a loss).</summary>
    public Tally ClonesOff { get; } = family.Of("clones_off");
}

/// <summary>One tally of forkline_events_published_total per enriched kind, indexed by <see cref="EnrichedKind"/>.</summary>
internal sealed class PublishedCounters
{
    private static readonly EnrichedKind[] Kinds = Enum.GetValues<EnrichedKind>();
    private readonly Tally[] _byKind;

    public PublishedCounters(LabelledTallies family)
    {
        Family = family;
        _byKind = new Tally[(int)Kinds[^1] + 1];
        foreach (var kind in Kinds) _byKind[(int)kind] = family.Of(kind.ToString().ToLowerInvariant());
    }

    public LabelledTallies Family { get; }

    public Tally Of(EnrichedKind kind) => _byKind[(int)kind];

    public long Total
    {
        get
        {
            long total = 0;
            foreach (var kind in Kinds) total += _byKind[(int)kind].Value;
            return total;
        }
    }
}

internal sealed class CacheDropCounters(LabelledTallies family)
{
    public LabelledTallies Family => family;
    public Tally Age { get; } = family.Of("age");
    public Tally Capacity { get; } = family.Of("capacity");
    public Tally Shutdown { get; } = family.Of("shutdown");
}
