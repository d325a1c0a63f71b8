using System.Net;
using Forkline.Collector.Hooks;
using Forkline.Collector.Procfs;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;
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
/// A real ring-buffer overflow on the real kernel: the ring's reader stalls (as behind a busy or descheduled
/// collector), a burst of processes fills the ring, and a running process killed then loses its exit record
/// in the kernel. The periodic pid + start time check ends it with an exit concluded as lost, and the history
/// holds the losses as ring-loss gaps whose bounds cover the kill, with the count the kernel gave.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class RingOverflowTests(ITestOutputHelper output)
{
    // 16 pages: a burst of 400 processes writes several times that while nobody reads.
    private const uint SmallRingBytes = 64 * 1024;
    private const int BurstProcesses = 400;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [KernelFact]
    public async Task An_exit_lost_in_a_full_ring_is_concluded_by_the_liveness_check_and_the_losses_are_a_ring_loss_gap_in_the_history()
    {
        await using var fleet = new Fleet();
        var gateway = await fleet.StartGatewayAsync();
        var collector = await fleet.StartCollectorAsync([gateway.Ingest!.Address], new ForwarderSettings
        {
            FlushInterval = TimeSpan.FromMilliseconds(20), AckTimeout = TimeSpan.FromSeconds(2), MaxRetryInterval = TimeSpan.FromSeconds(2),
            ReportInterval = TimeSpan.FromMilliseconds(200),
        });
        var host = $"overflow-{Guid.NewGuid():N}";
        var forwarder = collector.Forwarder;
        using var readerGate = new ManualResetEventSlim(initialState: true);
        var sleeperPid = 0;
        DateTime killing, killed;
        EnrichedExit concluded;
        long lostRecords;
        await using (var kernel = await KernelPipeline.StartAsync(collector.System, host, output.WriteLine, HookPolicy.CredentialsOnly,
                         moreSinks: [forwarder], ringSizeBytes: SmallRingBytes, readerGate: readerGate,
                         tune: settings => settings with
                         {
                             LivenessProbe = new ProcfsLiveness().StillRuns,
                             LivenessCheckInterval = TimeSpan.FromMilliseconds(200),
                             LivenessConfirmDelay = TimeSpan.FromMilliseconds(500),
                         }))
        {
            RunAccounting.Start(forwarder, host, kernel.Source, kernel.Pipeline);
            using var sleeper = Workloads.Start("/bin/sleep", "3005");
            sleeperPid = sleeper.Id;
            var exec = await kernel.Events.WaitFor<EnrichedExec>(e => e.Process.Pid == sleeperPid, "exec of sleep 3005", KernelPipeline.EventTimeout);
            try
            {
                readerGate.Reset();
                var lostBefore = kernel.Source.Counts.Lost;
                var burst = Workloads.Start("/bin/sh", "-c", $"for i in $(seq 1 {BurstProcesses}); do /bin/true & done; wait");
                await Workloads.RunToExitAsync(burst, expectedExitCode: 0);
                // Every exit record that fitted went in, so the ring has no room for one more: the burst's last ones were lost.
                Assert.True(kernel.Source.Counts.Lost > lostBefore, $"a {SmallRingBytes}-byte ring nobody reads loses records of {BurstProcesses} processes");
                killing = DateTime.UtcNow;
                sleeper.Kill();
                await sleeper.WaitForExitAsync();
                killed = DateTime.UtcNow;
            }
            finally
            {
                readerGate.Set();
            }

            concluded = await kernel.Events.WaitFor<EnrichedExit>(e => e.Process.ExecId == exec.Process.ExecId,
                "the exit of sleep 3005, concluded by the liveness check", Patience);
            output.WriteLine($"sleep 3005 ended: {concluded.Process.Exit}");
            Assert.Equal((ExitConclusion.Lost, 0, 0), (concluded.Process.Exit!.Conclusion, concluded.Process.Exit.Status, concluded.Process.Exit.Signal));
            Assert.True(kernel.Metrics.Value("forkline_exits_concluded_total", "lost") >= 1, "forkline_exits_concluded_total{reason=\"lost\"} counts it");
            await kernel.StopAsync();
            lostRecords = kernel.Source.Counts.Lost + kernel.Source.Counts.Discarded;
        }
        Assert.True(await forwarder.FlushAsync(Patience), "the gateway acknowledges every event the forwarder kept");
        await RunAccounting.FinishAsync(forwarder, Patience, new LineLoggerFactory(output.WriteLine).CreateLogger("test"));

        // The gateway's host tree has the concluded exit too: the sleeper is not live there.
        await TestNodes.EventuallyAsync(async () => (await gateway.Queries.ListProcessesAsync(new ProcessListQuery(host, Pid: sleeperPid, Live: true), CancellationToken.None)).Count == 0,
            "the host tree holds no live sleep 3005", Patience);

        IReadOnlyList<HostGap> gaps = [];
        await TestNodes.EventuallyAsync(async () =>
        {
            gaps = await gateway.Queries.GapsAsync(host, DateTime.MinValue, DateTime.MaxValue, 100, CancellationToken.None);
            return gaps.Where(g => g.Reason == HostGapReason.RingLoss).Sum(g => (long)g.LostRecords) == lostRecords;
        }, $"ring-loss gaps holding the {lostRecords} records the kernel lost reach the history", Patience);
        foreach (var gap in gaps) output.WriteLine(gap.ToString());
        var run = Assert.Single(await gateway.Queries.GetHostStatsAsync(host, CancellationToken.None));
        Assert.Equal(lostRecords, run.Report!.Source.Lost + run.Report.Source.Discarded);
        var ringLosses = gaps.Where(g => g.Reason == HostGapReason.RingLoss).ToList();
        Assert.All(ringLosses, gap => Assert.True(run.Report.StartedUtc <= gap.From && gap.From < gap.To && gap.To <= run.Report.ReportedUtc, $"{gap} lies in the run"));
        Assert.Contains(ringLosses, gap => gap.From <= killed && gap.To >= killing);

        await using var api = await ApiServer.StartAsync(gateway.Queries, new ApiSettings
        {
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        }, CancellationToken.None);
        var stats = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["stats", "--host", host, "--gateway", api.GrpcAddress.ToString()], Patience);
        output.WriteLine(stats.ToString());
        Assert.Equal(0, stats.ExitCode);
        Assert.Contains("records lost in the full ring buffer", stats.Output);
    }
}
