using System.Diagnostics.Metrics;
using Forkline.Collector.Bpf;
using Forkline.Collector.Decoding;
using Forkline.Collector.Sources;

namespace Forkline.Metrics;

/// <summary>
/// The collector's own figures (the BPF side's produced and lost records, decode rejects, the ring reader's lag) as
/// observable instruments of the meter <see cref="MeterName"/>, read from the running collector at each scrape. The
/// collector keeps plain counters; this is where the host shows them. Before a BPF collector runs (or with a replayed
/// capture) the counters have no series and the lag is 0.
/// </summary>
public static class CollectorMetrics
{
    public const string MeterName = "Forkline.Collector";

    // Index = enum fl_kind; 0 is unused by the kernel side.
    private static readonly string[] KindLabels = ["none", "clone", "exec", "exit", "hook"];
    private static readonly DecodeError[] Rejections = Enum.GetValues<DecodeError>();

    public static void Observe(IMeterFactory meters, IEventSource source)
    {
        var bpf = source as BpfEventSource;
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter<long>("forkline_bpf_produced_events_total", () => ByKind(bpf?.Collector, produced: true),
            description: "Records the BPF programs tried to put into the ring buffer (kept or lost), by kind.");
        meter.CreateObservableCounter<long>("forkline_bpf_lost_events_total", () => ByKind(bpf?.Collector, produced: false),
            description: "Records the BPF side could not put into the ring buffer, by kind.");
        meter.CreateObservableGauge<long>("forkline_ring_reader_lag_bytes", () => LagBytes(bpf?.Collector),
            description: "Bytes waiting in the ring buffer when the reader last started a drain.");
        meter.CreateObservableCounter<long>("forkline_decode_rejects_total", () => DecodeRejects(bpf?.Collector),
            description: "Ring-buffer records that failed to decode, by reason.");
    }

    private static List<Measurement<long>> ByKind(BpfCollector? collector, bool produced)
    {
        var measurements = new List<Measurement<long>>(KindLabels.Length - 1);
        if (collector is null) return measurements;
        for (var kind = 1; kind < KindLabels.Length; kind++)
            measurements.Add(new Measurement<long>(produced ? collector.Metrics.ProducedOfKind(kind) : collector.Metrics.LostOfKind(kind),
                new KeyValuePair<string, object?>("kind", KindLabels[kind])));
        return measurements;
    }

    private static long LagBytes(BpfCollector? collector) => collector?.Metrics.LastLagBytes ?? 0;

    private static List<Measurement<long>> DecodeRejects(BpfCollector? collector)
    {
        var measurements = new List<Measurement<long>>(Rejections.Length - 1);
        if (collector is null) return measurements;
        foreach (var error in Rejections)
            if (error != DecodeError.None)
                measurements.Add(new Measurement<long>(collector.DecodeCounters.Get(error), new KeyValuePair<string, object?>("reason", error.ToString())));
        return measurements;
    }
}
