using Forkline.Contracts.Accounting;
using Forkline.Gateway.Telemetry;

namespace Forkline.Gateway.Accounting;

/// <summary>
/// forkline_host_run_events{host,stage}: the loss accounting of each host's latest collector run, as
/// of its latest report, on the gateway node that holds the host's entity (removed when it moves).
/// </summary>
public sealed class AccountingGauges(GatewayMetrics metrics)
{
    public void Update(string host, RunReport report, GatewayCounts gateway)
    {
        var balance = RunBalance.Of(report, gateway);
        var (source, pipeline, forward) = (report.Source, report.Pipeline, report.Forward);
        metrics.HostRun(host,
        [
            new("produced", balance.Produced),
            new("ring_lost", source.Lost + source.Discarded),
            new("malformed", source.Malformed),
            new("discarded", pipeline.Discarded),
            new("withheld", pipeline.Withheld),
            new("sink_failures", pipeline.SinkFailures),
            new("forward_dropped", forward.DroppedFull + forward.DroppedShutdown),
            new("acknowledged", forward.AcknowledgedLifecycle + forward.AcknowledgedHooks),
            new("stored", gateway.Stored),
            new("in_flight", balance.InFlight),
        ]);
    }

    public void Remove(string host) => metrics.HostRunGone(host);
}
