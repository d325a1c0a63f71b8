using System.Diagnostics;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Forkline.Hosting;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>A test that needs a PostgreSQL server; skipped, with the reason, where none can be started.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.Unavailable is { } problem) Skip = "needs PostgreSQL: " + problem;
    }
}

/// <summary>
/// Three gateways as real processes on one PostgreSQL database, two collector nodes streaming the
/// exec/exit events of four hosts: one gateway is killed with SIGKILL mid-stream and started again.
/// Three, because keep-majority needs a majority to survive a member's loss: of two gateways, the one
/// left after the other's crash is a tie, which the resolver breaks for the side holding the lowest
/// address, so the survivor downs itself whenever the dead one had the lower (random) port.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class GatewayFailoverTests(PostgresServer server, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan DownUnreachableAfter = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private const string Hosts = "failover-%";
    private readonly TestDatabase _database = server.NewDatabase();

    public void Dispose() => _database.Dispose();

    [PostgresFact]
    public async Task A_gateway_killed_while_collectors_stream_hands_its_shards_over_and_nothing_acknowledged_is_lost_or_stored_twice()
    {
        int[] ports = [TestNodes.FreePort(), TestNodes.FreePort(), TestNodes.FreePort()];
        var seeds = ports.Select(port => GatewaySettings.SeedAddress("127.0.0.1", port)).ToArray();
        await using var first = GatewayProcess.Start("gateway-1", ports[0], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        await using var second = GatewayProcess.Start("gateway-2", ports[1], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        await using var third = GatewayProcess.Start("gateway-3", ports[2], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        try
        {
            Uri[] gateways = [first.IngestAddress, second.IngestAddress, third.IngestAddress];
            await Task.WhenAll(first.WaitUntilTakesStreamsAsync(Patience), second.WaitUntilTakesStreamsAsync(Patience), third.WaitUntilTakesStreamsAsync(Patience));
            // Each gateway must see all three Up before the kill: one that still held the newest as Joining
            // would count two members, a tie it breaks for the lowest address, possibly against itself.
            await TestNodes.EventuallyAsync(async () => (await Task.WhenAll(first.GatewaysUpAsync(), second.GatewaysUpAsync(), third.GatewaysUpAsync())).All(up => up == 3),
                "every gateway sees three Up gateways", Patience);
            await using var collectorA = await CollectorNode.StartAsync(TestNodes.Collector(gateways));
            await using var collectorB = await CollectorNode.StartAsync(TestNodes.Collector([.. gateways.Reverse()]));

            using var streaming = new CancellationTokenSource();
            var streams = new[]
            {
                StreamAsync(collectorA, ["failover-a1", "failover-a2"], streaming.Token),
                StreamAsync(collectorB, ["failover-b1", "failover-b2"], streaming.Token),
            };
            await Task.Delay(TimeSpan.FromSeconds(3));
            // Akka.Persistence.Sql stamps each journal row's `created` with DateTime.UtcNow.Ticks.
            var killTicks = DateTime.UtcNow.Ticks;
            second.KillHard();
            var killedAt = Stopwatch.StartNew();
            // Past the split-brain resolver's decision: the survivors have downed gateway-2 and run its shards.
            await TestNodes.EventuallyAsync(async () => (await Task.WhenAll(first.GatewaysUpAsync(), third.GatewaysUpAsync())).All(up => up == 2),
                "both survivors have downed the killed gateway", Patience);
            output.WriteLine($"gateway-2 downed {killedAt.Elapsed.TotalSeconds:F1} s after kill -9");
            second.Start();
            await second.WaitUntilTakesStreamsAsync(Patience);
            output.WriteLine($"gateway-2 back Up {killedAt.Elapsed.TotalSeconds:F1} s after kill -9");
            await Task.Delay(TimeSpan.FromSeconds(3));
            await streaming.CancelAsync();
            var sent = (await Task.WhenAll(streams)).SelectMany(events => events).ToList();

            Assert.True(await collectorA.Forwarder.FlushAsync(Patience), "collector A's events are all acknowledged");
            Assert.True(await collectorB.Forwarder.FlushAsync(Patience), "collector B's events are all acknowledged");
            Assert.Equal(0, collectorA.MetricsExport.Value("forkline_forward_dropped_total", "exec", "buffer_full") + collectorB.MetricsExport.Value("forkline_forward_dropped_total", "exec", "buffer_full"));

            // Hosts whose entity lived on the killed gateway are stored again only once a survivor took them over.
            var history = new PersistedHistory(_database.Settings);
            foreach (var (host, firstTicks) in await history.FirstWritesAfterAsync(killTicks, Hosts))
                output.WriteLine($"{host}: first event stored {TimeSpan.FromTicks(firstTicks - killTicks).TotalSeconds:F1} s after kill -9");

            var journaledEvents = await history.JournaledEventsAsync(Hosts);
            var journaled = journaledEvents.Select(e => e.Event.EventId).ToList();
            var sentIds = sent.Select(WireConverter.EventIdOf).Order().ToList();
            output.WriteLine($"sent {sentIds.Count} exec/exit events of 4 hosts; journal holds {journaled.Count}");
            Assert.Equal(sentIds, journaled.Order());

            var execs = ExecIdsOf(sent, EnrichedKind.Exec);
            var exits = ExecIdsOf(sent, EnrichedKind.Exit);
            await ProjectionReachesAsync(history, journaledEvents.Max(e => e.Ordering));
            await TestNodes.EventuallyAsync(async () => (await history.ProjectedProcessesAsync(Hosts)).Count(p => p.Exited) == exits.Count,
                "the projection applies every exit", Patience);
            var projected = await history.ProjectedProcessesAsync(Hosts);
            Assert.Equal(execs, projected.Select(p => p.ExecId).Order());
            Assert.Equal(exits, projected.Where(p => p.Exited).Select(p => p.ExecId).Order());
        }
        catch
        {
            foreach (var gateway in new[] { first, second, third }) output.WriteLine($"--- {gateway.Name} ---\n{gateway.LogTail()}");
            throw;
        }
    }

    /// <summary>
    /// Waits until the projection has applied the journal up to <paramref name="ordering"/>, as long as it
    /// keeps moving: what it has to apply grows with how long the failover took on this host (23,000 events
    /// after a slow restart), so the patience is per step, not for the whole.
    /// </summary>
    private static async Task ProjectionReachesAsync(PersistedHistory history, long ordering)
    {
        long applied = 0;
        while (applied < ordering)
        {
            var before = applied;
            await TestNodes.EventuallyAsync(async () => (applied = await history.ProjectedUpToAsync()) > before || applied >= ordering,
                $"the projection moves past journal ordering {before} on its way to {ordering}", Patience);
        }
    }

    private static List<string> ExecIdsOf(List<EnrichedEvent> events, EnrichedKind kind) =>
        events.Where(e => e.Kind == kind).Select(e => e.Process.ExecId.Encode()).Order().ToList();


    /// <summary>Exec then exit of a new process on each host in turn, every few milliseconds, until cancelled.</summary>
    private static async Task<List<EnrichedEvent>> StreamAsync(CollectorNode collector, string[] hostNames, CancellationToken ct)
    {
        var hosts = hostNames.Select(name => new SyntheticHost(name)).ToList();
        var inits = hosts.Select(host => host.NewProcess(1, null, "/sbin/init")).ToList();
        var sent = new List<EnrichedEvent>();
        for (var i = 0; i < hosts.Count; i++) Send(collector, sent, hosts[i].Exec(inits[i], null));
        for (var pid = 2; !ct.IsCancellationRequested; pid++)
        {
            for (var i = 0; i < hosts.Count; i++)
            {
                var job = hosts[i].NewProcess(pid, inits[i], "/usr/bin/job", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Send(collector, sent, hosts[i].Exec(job, inits[i]));
                Send(collector, sent, hosts[i].Exit(job, inits[i]));
            }
            await Task.Delay(5, CancellationToken.None);
        }
        return sent;
    }

    private static void Send(CollectorNode collector, List<EnrichedEvent> sent, EnrichedEvent enriched)
    {
        collector.Forwarder.OnEnriched(enriched);
        collector.Forwarder.OnBatchEnd();
        sent.Add(enriched);
    }
}
