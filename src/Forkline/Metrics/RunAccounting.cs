using Forkline.Collector.Sources;
using Forkline.Contracts.Accounting;
using Forkline.Forwarding;
using Forkline.ProcessActors;
using Microsoft.Extensions.Logging;

namespace Forkline.Metrics;

/// <summary>
/// Ties one collector run's stages (source, process actors, forwarder) into the loss reports its
/// forwarder sends to the host's entity, where `forkline stats` reads them.
/// </summary>
public static class RunAccounting
{
    public static void Start(GatewayForwarder forwarder, string host, IEventSource source, ProcessPipeline pipeline)
    {
        var started = DateTime.UtcNow;
        forwarder.ReportRun(host, () =>
        {
            // Downstream first: an event read as out of a stage was read as into it too.
            var pipelineCounts = pipeline.CountsFor(forwarder);
            return new UpstreamCounts(host, source.Name, started, source.Counts, pipelineCounts);
        });
    }

    /// <summary>After the source stopped, the pipeline stopped and the forwarder flushed: the run's last counts.</summary>
    public static async Task FinishAsync(GatewayForwarder forwarder, TimeSpan timeout, ILogger log)
    {
        if (!await forwarder.ReportFinalAsync(timeout))
            log.LogWarning("no gateway took this run's final loss report within {Timeout:0} s; `forkline stats` shows its last periodic one", timeout.TotalSeconds);
    }
}
