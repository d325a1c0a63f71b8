using Forkline.Collector.Bpf;
using Forkline.Collector.Decoding;
using Forkline.ProcessActors.Metrics;

namespace Forkline.Metrics;

/// <summary>Copies the collector's own counters into the Prometheus registry before each scrape.</summary>
public static class CollectorMetrics
{
    // Index = enum fl_kind; 0 is unused by the kernel side.
    private static readonly string[] KindLabels = ["none", "clone", "exec", "exit", "hook"];
    private static readonly DecodeError[] Rejections = Enum.GetValues<DecodeError>();

    public static void Refresh(BpfCollector? collector, ForklineMetrics metrics)
    {
        if (collector is null) return;
        for (var kind = 1; kind < KindLabels.Length; kind++)
        {
            metrics.BpfProducedEventsTotal.WithLabels(KindLabels[kind]).IncTo(collector.Metrics.ProducedOfKind(kind));
            metrics.BpfLostEventsTotal.WithLabels(KindLabels[kind]).IncTo(collector.Metrics.LostOfKind(kind));
        }
        foreach (var error in Rejections)
        {
            if (error == DecodeError.None) continue;
            metrics.DecodeRejectsTotal.WithLabels(error.ToString()).IncTo(collector.DecodeCounters.Get(error));
        }
        metrics.RingReaderLagBytes.Set(collector.Metrics.LastLagBytes);
    }
}
