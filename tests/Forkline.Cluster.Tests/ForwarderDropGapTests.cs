using System.Net;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;
using Forkline.Forwarding;
using Forkline.Gateway.Api;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// The gateway goes down while its collector keeps running: an outage the collector's forwarder buffer rides
/// out leaves no gap in the host's history; one that overflows the buffer leaves a gap bounded by the first
/// and the last event dropped, with their count, which `forkline stats` and `replay` show.
/// </summary>
public sealed class ForwarderDropGapTests(ITestOutputHelper output)
{
    private const string Host = "dropping-host";
    private const int Buffer = 8;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly SyntheticHost _host = new(Host);

    [Fact]
    public async Task Events_dropped_while_the_gateway_was_down_are_a_gap_with_their_bounds_and_an_outage_without_loss_is_none()
    {
        await using var fleet = new Fleet();
        var ingestPort = TestNodes.FreePort();
        var gateway = await fleet.StartGatewayAsync(ingestPort: ingestPort);
        var collector = await fleet.StartCollectorAsync([gateway.Ingest!.Address], new ForwarderSettings
        {
            BatchSize = 4, MaxBufferedEvents = Buffer, FlushInterval = TimeSpan.FromMilliseconds(20),
            AckTimeout = TimeSpan.FromSeconds(1), MaxRetryInterval = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromMilliseconds(200),
        });
        var forwarder = collector.Forwarder;
        var upstream = new UpstreamCounts(Host, "test", DateTime.UtcNow, default, default);
        forwarder.ReportRun(Host, () => upstream);
        var init = _host.NewProcess(1, null, "/sbin/init");
        Send(forwarder, [_host.Exec(init, null)]);
        Assert.True(await forwarder.FlushAsync(Patience), "the first gateway acknowledges the start of init");

        // Down, and back: the buffer holds what came meanwhile (less than its bound), nothing is lost.
        await gateway.DisposeAsync();
        Send(forwarder, Execs(init, 100, Buffer - 2));
        gateway = await fleet.StartGatewayAsync(ingestPort: ingestPort);
        Assert.True(await forwarder.FlushAsync(Patience), "the restarted gateway acknowledges what the buffer held");

        // Down again, and more comes than the buffer holds: the forwarder keeps the first and drops the rest.
        await gateway.DisposeAsync();
        var storm = Execs(init, 200, Buffer + 12);
        Send(forwarder, storm);
        var dropped = storm.Skip(Buffer).ToList();
        await TestNodes.EventuallyAsync(() => Task.FromResult(collector.MetricsExport.Value("forkline_forward_dropped_total", "exec", "buffer_full") == dropped.Count),
            $"the forwarder drops the {dropped.Count} events past its buffer while no gateway runs", Patience);
        gateway = await fleet.StartGatewayAsync(ingestPort: ingestPort);
        Assert.True(await forwarder.FlushAsync(Patience), "the gateway acknowledges what the buffer kept");

        IReadOnlyList<HostGap> gaps = [];
        await TestNodes.EventuallyAsync(async () =>
            (gaps = await gateway.Queries.GapsAsync(Host, DateTime.MinValue, DateTime.MaxValue, 100, CancellationToken.None)).Count > 0,
            "the run report counting the drops leaves a gap in the history", Patience);
        var run = Assert.Single(await gateway.Queries.GetHostStatsAsync(Host, CancellationToken.None));
        output.WriteLine($"forward {run.Report?.Forward}; gaps: {string.Join("; ", gaps)}");
        var gap = Assert.Single(gaps);
        Assert.Equal(new HostGap(Host, dropped[0].Time, dropped[^1].Time, HostGapReason.ForwarderDropped, run.RunId, "", (ulong)dropped.Count), gap);
        Assert.Equal(dropped.Count, run.Report!.Forward.DroppedFull);

        await using var api = await ApiServer.StartAsync(gateway.Queries, new ApiSettings
        {
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        }, CancellationToken.None);
        var cause = $"{dropped.Count} events dropped by the collector's forwarder";
        var stats = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["stats", "--host", Host, "--gateway", api.GrpcAddress.ToString()], Patience);
        output.WriteLine(stats.ToString());
        Assert.Equal(0, stats.ExitCode);
        Assert.Contains(cause, stats.Output);
        var replay = await ExternalCommand.RunAsync(GatewayProcess.Executable,
            ["replay", "--host", Host, "--since", "2000-01-01T00:00:00Z", "--gateway", api.GrpcAddress.ToString()], Patience);
        output.WriteLine(replay.ToString());
        Assert.Equal(0, replay.ExitCode);
        Assert.Single(replay.Output.Split('\n'), line => line.Contains(" gap ", StringComparison.Ordinal) && line.Contains(cause, StringComparison.Ordinal));
    }

    private List<EnrichedEvent> Execs(ProcessSnapshot parent, int firstPid, int count) =>
        Enumerable.Range(firstPid, count).Select(pid => (EnrichedEvent)_host.Exec(_host.NewProcess(pid, parent, "/bin/true"), parent)).ToList();

    private static void Send(GatewayForwarder forwarder, IEnumerable<EnrichedEvent> events)
    {
        foreach (var enriched in events) forwarder.OnEnriched(enriched);
        forwarder.OnBatchEnd();
    }
}
