using Forkline.Contracts.Accounting;
using Prometheus;

namespace Forkline.Gateway.Accounting;

/// <summary>
/// forkline_host_run_events{host,stage}: the loss accounting of each host's latest collector run, as
/// of its latest report, on the gateway node that holds the host's entity (removed when it moves).
/// </summary>
public sealed class AccountingGauges(Gauge gauge)
{
    private static readonly string[] Stages =
        ["produced", "ring_lost", "malformed", "discarded", "withheld", "sink_failures", "forward_dropped", "acknowledged", "stored", "in_flight"];

    public void Update(string host, RunReport report, GatewayCounts gateway)
    {
        var balance = RunBalance.Of(report, gateway);
        var (source, pipeline, forward) = (report.Source, report.Pipeline, report.Forward);
        Set(host, "produced", balance.Produced);
        Set(host, "ring_lost", source.Lost + source.Discarded);
        Set(host, "malformed", source.Malformed);
        Set(host, "discarded", pipeline.Discarded);
        Set(host, "withheld", pipeline.Withheld);
        Set(host, "sink_failures", pipeline.SinkFailures);
        Set(host, "forward_dropped", forward.DroppedFull + forward.DroppedShutdown);
        Set(host, "acknowledged", forward.AcknowledgedLifecycle + forward.AcknowledgedHooks);
        Set(host, "stored", gateway.Stored);
        Set(host, "in_flight", balance.InFlight);
    }

    public void Remove(string host)
    {
        foreach (var stage in Stages) gauge.RemoveLabelled(host, stage);
    }

    private void Set(string host, string stage, long value) => gauge.WithLabels(host, stage).Set(value);
}
