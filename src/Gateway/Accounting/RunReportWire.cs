using Forkline.Contracts.Accounting;
using Forkline.Contracts.Accounting.Wire;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;

namespace Forkline.Gateway.Accounting;

/// <summary>Converts run reports between the C# values and their protobuf form (wire, journal, snapshots, API).</summary>
public static class RunReportWire
{
    public static CollectorRunReport ToWire(RunReport report) => new()
    {
        Host = report.Host,
        RunId = report.RunId,
        Source = report.SourceName,
        StartedUnixTicks = WireConverter.ToUnixTicks(report.StartedUtc),
        ReportedUnixTicks = WireConverter.ToUnixTicks(report.ReportedUtc),
        ReportSeq = report.Seq,
        Final = report.Final,
        Counts = ToWire(report.Source, report.Pipeline, report.Forward),
    };

    /// <summary>The report as C# values; <see cref="WireFormatException"/> when a field is missing or out of range.</summary>
    public static RunReport FromWire(CollectorRunReport wire)
    {
        if (wire.Host.Length == 0 || wire.RunId.Length == 0)
            throw new WireFormatException($"run report without host ('{wire.Host}') or run id ('{wire.RunId}')");
        var counts = wire.Counts ?? throw new WireFormatException($"run report {wire.RunId} of host {wire.Host} has no counts");
        return new RunReport(wire.Host, wire.RunId, wire.Source,
            WireConverter.FromUnixTicks(wire.StartedUnixTicks), WireConverter.FromUnixTicks(wire.ReportedUnixTicks), wire.ReportSeq, wire.Final,
            new SourceCounts(
                Produced: Count(counts.KernelProduced), Bootstrapped: Count(counts.Bootstrapped), Lost: Count(counts.RingLost),
                Discarded: Count(counts.KernelDiscarded), Malformed: Count(counts.Malformed), Delivered: Count(counts.Delivered)),
            new PipelineCounts(
                Received: Count(counts.ActorsReceived), Discarded: Count(counts.ActorsDiscarded), Withheld: Count(counts.Withheld),
                GaveUpWaiting: Count(counts.CacheGaveUp), Waiting: Count(counts.CacheWaiting), Published: Count(counts.Published),
                SinkFailures: Count(counts.SinkFailures), Concluded: Count(counts.ActorsConcluded)),
            new ForwardCounts(
                Received: Count(counts.ForwardReceived), DroppedFull: Count(counts.ForwardDroppedFull),
                DroppedShutdown: Count(counts.ForwardDroppedShutdown), Buffered: Count(counts.ForwardBuffered),
                AcknowledgedLifecycle: Count(counts.AcknowledgedLifecycle), AcknowledgedHooks: Count(counts.AcknowledgedHooks),
                FirstDropped: Time(counts.ForwardFirstDroppedUnixTicks), LastDropped: Time(counts.ForwardLastDroppedUnixTicks)));
    }

    private static RunCounts ToWire(SourceCounts source, PipelineCounts pipeline, ForwardCounts forward) => new()
    {
        KernelProduced = Wire(source.Produced),
        Bootstrapped = Wire(source.Bootstrapped),
        RingLost = Wire(source.Lost),
        KernelDiscarded = Wire(source.Discarded),
        Malformed = Wire(source.Malformed),
        Delivered = Wire(source.Delivered),
        ActorsReceived = Wire(pipeline.Received),
        ActorsConcluded = Wire(pipeline.Concluded),
        ActorsDiscarded = Wire(pipeline.Discarded),
        Withheld = Wire(pipeline.Withheld),
        CacheGaveUp = Wire(pipeline.GaveUpWaiting),
        CacheWaiting = Wire(pipeline.Waiting),
        Published = Wire(pipeline.Published),
        SinkFailures = Wire(pipeline.SinkFailures),
        ForwardReceived = Wire(forward.Received),
        ForwardDroppedFull = Wire(forward.DroppedFull),
        ForwardDroppedShutdown = Wire(forward.DroppedShutdown),
        ForwardBuffered = Wire(forward.Buffered),
        AcknowledgedLifecycle = Wire(forward.AcknowledgedLifecycle),
        AcknowledgedHooks = Wire(forward.AcknowledgedHooks),
        ForwardFirstDroppedUnixTicks = forward.FirstDropped is { } first ? WireConverter.ToUnixTicks(first) : 0,
        ForwardLastDroppedUnixTicks = forward.LastDropped is { } last ? WireConverter.ToUnixTicks(last) : 0,
    };

    private static ulong Wire(long count) => count >= 0
        ? (ulong)count
        : throw new ArgumentOutOfRangeException(nameof(count), count, "a count is never negative");

    private static DateTime? Time(long unixTicks) => unixTicks == 0 ? null : WireConverter.FromUnixTicks(unixTicks);

    private static long Count(ulong wire) => wire <= long.MaxValue
        ? (long)wire
        : throw new WireFormatException($"count {wire} is beyond any real number of events");
}
