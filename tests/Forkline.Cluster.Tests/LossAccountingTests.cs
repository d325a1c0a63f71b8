using System.Net;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Wire;
using Forkline.Forwarding;
using Forkline.Gateway.Api;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Forkline.Kernel.Tests;
using Forkline.Kernel.Tests.Pipeline;
using Forkline.Metrics;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// End-to-end loss accounting on the real kernel: a collector whose ring holds two pages and whose
/// forwarder holds one small batch, under a burst of processes, so events are really lost in the
/// ring and really dropped by the forwarder; afterwards every produced event must be accounted for.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class LossAccountingTests(ITestOutputHelper output)
{
    private const uint TinyRingBytes = 8192;
    private const int BurstProcesses = 400;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [KernelFact]
    public async Task After_a_run_with_a_tiny_ring_and_a_full_forwarder_buffer_every_produced_event_is_accounted_for()
    {
        await using var fleet = new Fleet();
        var gateway = await fleet.StartGatewayAsync();
        var collector = await fleet.StartCollectorAsync([gateway.Ingest!.Address], new ForwarderSettings
        {
            BatchSize = 8, FlushInterval = TimeSpan.FromMilliseconds(20), MaxBufferedEvents = 8, MaxInFlightBatches = 1,
            AckTimeout = TimeSpan.FromSeconds(2), MaxRetryInterval = TimeSpan.FromSeconds(2), ReportInterval = TimeSpan.FromMilliseconds(200),
        });
        var host = $"loss-{Guid.NewGuid():N}";

        var forwarder = collector.Forwarder;
        await using (var kernel = await KernelPipeline.StartAsync(collector.System, host, output.WriteLine, HookPolicy.CredentialsOnly,
                         moreSinks: [forwarder], ringSizeBytes: TinyRingBytes))
        {
            RunAccounting.Start(forwarder, host, kernel.Source, kernel.Pipeline);
            // Running reports arrive while the run is on; they must not claim balance.
            await TestNodes.EventuallyAsync(async () => (await gateway.Queries.GetHostStatsAsync(host, CancellationToken.None)).Count == 1,
                "the host's entity has the run's first report", Patience);
            var burst = Workloads.Start("/bin/sh", "-c", $"for i in $(seq 1 {BurstProcesses}); do /bin/true & done; wait");
            await Workloads.RunToExitAsync(burst, expectedExitCode: 0);
            await kernel.StopAsync();
        }
        Assert.True(await forwarder.FlushAsync(Patience), "the gateway acknowledges every event the forwarder kept");
        await RunAccounting.FinishAsync(forwarder, Patience, new LineLoggerFactory(output.WriteLine).CreateLogger("test"));

        var run = Assert.Single(await gateway.Queries.GetHostStatsAsync(host, CancellationToken.None));
        var report = run.Report!;
        var balance = run.Balance!.Value;
        output.WriteLine($"source {report.Source}\npipeline {report.Pipeline}\nforward {report.Forward}\ngateway {run.Gateway}, in flight {balance.InFlight}");

        Assert.True(report.Final, "the final report replaced the periodic ones");
        Assert.True(report.Source.Lost > 0, $"a {TinyRingBytes}-byte ring under {BurstProcesses} processes loses records (lost {report.Source.Lost})");
        Assert.True(report.Forward.DroppedFull > 0, $"a forwarder holding 8 events drops some of the burst (dropped {report.Forward.DroppedFull})");
        Assert.True(report.Forward.AcknowledgedLifecycle > 0, "some exec/exit events still made it");
        // Each stage's own books, then the identity across all of them.
        var (source, pipeline, forward) = (report.Source, report.Pipeline, report.Forward);
        Assert.Equal(source.Produced + source.Bootstrapped, source.Lost + source.Discarded + source.Malformed + source.Delivered);
        Assert.Equal(source.Delivered, pipeline.Received);
        Assert.Equal(0, pipeline.Waiting);
        // A pid reused after its old image's exit record was lost in the ring concludes that exit: made by the actors.
        Assert.Equal(pipeline.Received + pipeline.Concluded, pipeline.Discarded + pipeline.Withheld + pipeline.Published);
        Assert.Equal(pipeline.Published, pipeline.SinkFailures + forward.Received);
        Assert.Equal(0, forward.Buffered);
        Assert.Equal(forward.Received, forward.DroppedFull + forward.DroppedShutdown + forward.AcknowledgedLifecycle + forward.AcknowledgedHooks);
        Assert.Equal(0, balance.InFlight);
        Assert.Equal(0, balance.AcknowledgedNotStored);
        Assert.True(balance.Balanced);

        // "Stored" is the journal's truth, not an echo of the acknowledgements.
        var journaled = await new PersistedHistory(fleet.Database).JournaledEventsAsync(host);
        Assert.Equal(run.Gateway.Stored, journaled.Count(e => e.ProducerId == run.RunId && e.Event.Kind != WireEventKind.Hook));

        await using var api = await ApiServer.StartAsync(gateway.Queries, new ApiSettings
        {
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        }, CancellationToken.None);
        var stats = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["stats", "--host", host, "--gateway", api.GrpcAddress.ToString()], Patience);
        output.WriteLine(stats.ToString());
        var printed = stats.Output;
        Assert.Equal(0, stats.ExitCode);
        Assert.Contains("balanced: every produced event is accounted for", printed);
        Assert.Contains(run.RunId, printed);
    }
}
