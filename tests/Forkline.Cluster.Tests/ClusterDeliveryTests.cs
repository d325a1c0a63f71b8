using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Forwarding;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;

namespace Forkline.Cluster.Tests;

public sealed class ClusterDeliveryTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Two_gateways_build_the_trees_of_two_collector_hosts_and_store_deliberate_duplicates_once()
    {
        await using var fleet = new Fleet();
        var first = await fleet.StartGatewayAsync();
        var second = await fleet.StartGatewayAsync([first.SeedAddress]);
        var collectorA = await fleet.StartCollectorAsync(first, second);
        var collectorB = await fleet.StartCollectorAsync(second, first);

        var hostA = new SyntheticHost("host-a");
        var hostB = new SyntheticHost("host-b");
        var (eventsA, _, _, shA, sleepA) = hostA.ShellChain(100);
        eventsA.Add(hostA.Exit(sleepA, shA));
        var (eventsB, initB, bashB, shB, sleepB) = hostB.ShellChain(500);

        await DeliverAsync(collectorA, eventsA);
        await DeliverAsync(collectorB, eventsB);
        await DeliverAsync(collectorA, eventsA);

        foreach (var gateway in new[] { first, second })
        {
            var liveA = await gateway.Queries.ListProcessesAsync(new ProcessListQuery("host-a", Live: true), None);
            Assert.Equal(["/sbin/init", "/bin/bash", "/bin/sh"], liveA.Select(p => p.Binary));
            var lineageB = await gateway.Queries.GetLineageAsync(sleepB.ExecId.Encode(), 1, None);
            Assert.Equal([shB.ExecId.Encode(), bashB.ExecId.Encode(), initB.ExecId.Encode()], lineageB!.Ancestors.Select(a => a.ExecId));
        }
        var replayA = await second.Queries.ReplayAsync("host-a", DateTime.MinValue, DateTime.MaxValue, None).CollectAsync();
        Assert.Equal(eventsA.Select(WireConverter.EventIdOf), replayA.Select(WireConverter.EventIdOf));
    }

    [Fact]
    public async Task A_collector_without_a_gateway_buffers_within_its_bound_and_delivers_everything_once_one_starts()
    {
        await using var fleet = new Fleet();
        var ingestPort = TestNodes.FreePort();
        Uri[] gateways = [new($"http://127.0.0.1:{ingestPort}")];
        var patient = await fleet.StartCollectorAsync(gateways);
        var bounded = await fleet.StartCollectorAsync(gateways,
            new ForwarderSettings { BatchSize = 8, MaxBufferedEvents = 16, FlushInterval = TimeSpan.FromMilliseconds(20), AckTimeout = TimeSpan.FromSeconds(1), MaxRetryInterval = TimeSpan.FromSeconds(1) });

        var host = new SyntheticHost("host-c");
        var init = host.NewProcess(1, null, "/sbin/init");
        var events = new List<EnrichedEvent> { host.Exec(init, null) };
        for (var pid = 2; pid <= 40; pid++) events.Add(host.Exec(host.NewProcess(pid, init, "/bin/job" + pid), init));
        var boundedHost = new SyntheticHost("host-d");
        var boundedInit = boundedHost.NewProcess(1, null, "/sbin/init");
        var boundedEvents = new List<EnrichedEvent> { boundedHost.Exec(boundedInit, null) };
        for (var pid = 2; pid <= 20; pid++) boundedEvents.Add(boundedHost.Exec(boundedHost.NewProcess(pid, boundedInit, "/bin/job"), boundedInit));

        foreach (var enriched in events) patient.Forwarder.OnEnriched(enriched);
        patient.Forwarder.OnBatchEnd();
        foreach (var enriched in boundedEvents) bounded.Forwarder.OnEnriched(enriched);
        bounded.Forwarder.OnBatchEnd();
        Assert.False(await patient.Forwarder.FlushAsync(TimeSpan.FromSeconds(3)), "nothing can be acknowledged before a gateway exists");
        Assert.Equal(events.Count, patient.MetricsExport.Value("forkline_forward_buffered_events"));
        Assert.Equal(boundedEvents.Count - 16, bounded.MetricsExport.Value("forkline_forward_dropped_total", "exec", "buffer_full"));

        var gateway = await fleet.StartGatewayAsync(ingestPort: ingestPort);
        Assert.True(await patient.Forwarder.FlushAsync(TestNodes.Patience), "the buffered events reach the gateway that started");
        Assert.True(await bounded.Forwarder.FlushAsync(TestNodes.Patience), "the bounded collector's kept events reach the gateway");

        var replay = await gateway.Queries.ReplayAsync("host-c", DateTime.MinValue, DateTime.MaxValue, None).CollectAsync();
        Assert.Equal(events.Select(WireConverter.EventIdOf), replay.Select(WireConverter.EventIdOf));
        var kept = await gateway.Queries.ListProcessesAsync(new ProcessListQuery("host-d"), None);
        Assert.Equal(boundedEvents.Take(16).Select(e => e.Process.ExecId.Encode()), kept.Select(p => p.ExecId));
    }

    [Fact]
    public async Task A_stream_on_one_gateway_sees_the_events_of_a_host_whose_entity_lives_anywhere()
    {
        await using var fleet = new Fleet();
        var first = await fleet.StartGatewayAsync();
        var second = await fleet.StartGatewayAsync([first.SeedAddress]);
        var collector = await fleet.StartCollectorAsync(first);
        var subscriptions = new[]
        {
            await first.Queries.SubscribeAsync(new EventStreamFilter(Hosts: new HashSet<string> { "host-s" }), None),
            await second.Queries.SubscribeAsync(new EventStreamFilter(Hosts: new HashSet<string> { "host-s" }), None),
        };

        var host = new SyntheticHost("host-s");
        var init = host.NewProcess(1, null, "/sbin/init");
        await DeliverAsync(collector, [host.Exec(init, null)]);
        // Topic subscriptions reach the other gateway by gossip; keep sending until both streams see one.
        await TestNodes.EventuallyAsync(async () =>
        {
            await DeliverAsync(collector, [host.Hook(init, null, init.Pid)]);
            return subscriptions.All(s => s.Events.TryPeek(out _));
        }, "both gateways stream host-s events");
        foreach (var subscription in subscriptions) await subscription.DisposeAsync();
    }

    [Fact]
    public async Task A_collector_reconciles_its_hosts_stored_tree_with_proc_over_its_stream()
    {
        await using var fleet = new Fleet();
        var gateway = await fleet.StartGatewayAsync();
        var collector = await fleet.StartCollectorAsync(gateway);
        var host = new SyntheticHost("host-r");
        var init = host.NewProcess(1, null, "/sbin/init");
        var gone = host.NewProcess(2, init, "/bin/job");
        await DeliverAsync(collector, [host.Exec(init, null), host.Exec(gone, init)]);

        var request = new ReconcileHost { Host = "host-r", ScanTimeUnixTicks = WireConverter.ToUnixTicks(DateTime.UtcNow) };
        request.Scanned.Add(new Contracts.Wire.ScannedProcess { Pid = 1, ForkKtime = init.StartKtime, ForkTimeUnixTicks = WireConverter.ToUnixTicks(init.StartTime) });
        var reply = await collector.Forwarder.ReconcileAsync(request, TestNodes.Patience);

        Assert.Equal(1, reply.Concluded);
        Assert.Equal([init.ExecId], reply.Adopted.Select(WireConverter.ToExecId));
        var live = await gateway.Queries.ListProcessesAsync(new ProcessListQuery("host-r", Live: true), None);
        Assert.Equal(["/sbin/init"], live.Select(p => p.Binary));
    }

    private static async Task DeliverAsync(CollectorNode collector, IEnumerable<EnrichedEvent> events)
    {
        foreach (var enriched in events) collector.Forwarder.OnEnriched(enriched);
        collector.Forwarder.OnBatchEnd();
        Assert.True(await collector.Forwarder.FlushAsync(TestNodes.Patience), "a gateway acknowledges every event");
    }
}
