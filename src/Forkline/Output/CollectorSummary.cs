using Forkline.Collector.Bpf;
using Forkline.Collector.Sources;

namespace Forkline.Output;

/// <summary>The line `forkline collector` prints at exit: what was read, lost, rejected and dropped.</summary>
public static class CollectorSummary
{
    public static string Describe(BpfCollector collector, long printerDrops, CaptureWriter? capture)
    {
        var ring = collector.Metrics;
        var bootstrap = collector.Bootstrap;
        var line = $"collector: {ring.Records} ring records ({ring.Bytes} bytes, max lag {ring.MaxLagBytes} bytes), "
            + $"{ring.Lost} lost in BPF, {collector.DecodeCounters.TotalRejected} bad records, {printerDrops} not printed (output too slow)";
        if (bootstrap is not null)
            line += $"; procfs bootstrap: {bootstrap.Emitted} processes ({bootstrap.AlreadyKnown} already seen by BPF, {bootstrap.Vanished} vanished, {bootstrap.Unreadable} unreadable)";
        if (capture is not null) line += $"; {capture.RecordsWritten} records recorded";
        return line;
    }
}
