using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Forkline.Hosting;

namespace Forkline.Benchmarks;

/// <summary>
/// The fleet issue's failover figure: two gateways as real `forkline gateway` processes (so that
/// kill -9 is a real SIGKILL) and a third in this process (which watches the membership and the
/// shards) on one PostgreSQL database, two in-process collector nodes streaming exec+exit events of
/// eight hosts at a steady rate to the two processes. A gateway holding shards of streamed hosts is
/// killed; the figure is the time from the kill to the first journal row of one of those hosts
/// written after it, which only the surviving gateway can write. Measured twice: the younger gateway
/// killed (its shards move), then, once it is back, the oldest (its shards, the shard coordinator and
/// the history projection singleton move).
/// </summary>
/// <remarks>
/// Why the journal row's <c>created</c> column: Akka.Persistence.Sql stamps it with the writing
/// process's DateTime.UtcNow just before the insert, and the row being there means it committed. All
/// processes share this machine's clock, so it compares directly with the kill time taken here. The
/// collector's ack comes a network hop later and is not observable per host from outside the forwarder.
/// </remarks>
internal static class FleetFailoverFigure
{
    /// <summary>deploy/local/fleet's setting; the product default is 20 s (deploy/config/README.md).</summary>
    public static readonly TimeSpan DownUnreachableAfter = TimeSpan.FromSeconds(5);

    private const int HostsPerCollector = 4;
    private static readonly TimeSpan StreamPause = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    /// <param name="Killed">Which gateway was killed, for the figure's name.</param>
    /// <param name="Unreachable">Until the collectors' failure detector marked it unreachable (null: downed before a poll saw it unreachable).</param>
    /// <param name="Downed">Until it was no longer an Up member (downed by the split-brain resolver).</param>
    /// <param name="FirstStored">Until the first journal row of a moved host (the figure).</param>
    /// <param name="AllResumed">Until every moved host had a journal row again.</param>
    public sealed record Failover(string Killed, int MovedHosts, TimeSpan? Unreachable, TimeSpan Downed, TimeSpan FirstStored, TimeSpan AllResumed);

    public static async Task<IReadOnlyList<Failover>> MeasureAsync(LocalPostgres server, TextWriter output)
    {
        using var database = new TestDatabase(server.ConnectionString);
        int[] ports = [TestNodes.FreePort(), TestNodes.FreePort()];
        var seeds = ports.Select(port => GatewaySettings.SeedAddress("127.0.0.1", port)).ToArray();
        // The first seed forms the cluster, so it is the oldest member: coordinator and singleton start there.
        await using var oldest = GatewayProcess.Start("gateway-1", ports[0], TestNodes.FreePort(), seeds, database.Settings, DownUnreachableAfter, database.Path);
        await using var younger = GatewayProcess.Start("gateway-2", ports[1], TestNodes.FreePort(), seeds, database.Settings, DownUnreachableAfter, database.Path);
        try
        {
            var gateway = BenchNodes.Gateway(database, seeds);
            await using var watcher = await BenchNodes.StartAsync(gateway with { Cluster = gateway.Cluster with { DownUnreachableAfter = DownUnreachableAfter } }, Patience);
            await WaitForAsync(() => UpGateways(watcher) == 3, "both gateway processes are Up");
            await using var collectorA = await BenchNodes.StartCollectorAsync([oldest.IngestAddress, younger.IngestAddress]);
            await using var collectorB = await BenchNodes.StartCollectorAsync([younger.IngestAddress, oldest.IngestAddress]);
            CollectorNode[] collectors = [collectorA, collectorB];

            var hosts = new List<string>();
            using var streaming = new CancellationTokenSource();
            var streams = collectors.Select((collector, c) =>
            {
                var names = Enumerable.Range(0, HostsPerCollector).Select(h => $"failover-{c}-{h}").ToArray();
                hosts.AddRange(names);
                return Task.Run(() => StreamAsync(collector, names, streaming.Token));
            }).ToList();

            var results = new List<Failover>();
            await WaitForAsync(async () => (await HostsOnAsync(watcher, [oldest, younger], hosts)).Count > 0, "streamed hosts have their shards on the gateway processes");
            await Task.Delay(Settle);
            results.Add(await KillAndMeasureAsync(database, watcher, younger, "younger gateway (shards only)", hosts));

            younger.Start();
            await WaitForAsync(() => UpGateways(watcher) == 3, "the killed gateway rejoins");
            await Task.Delay(Settle);
            results.Add(await KillAndMeasureAsync(database, watcher, oldest, "oldest gateway (shards, coordinator, projection)", hosts));

            await streaming.CancelAsync();
            var sent = (await Task.WhenAll(streams)).Sum();
            foreach (var collector in collectors)
                if (!await collector.Forwarder.FlushAsync(Patience))
                    throw new TimeoutException($"the surviving gateway did not acknowledge every streamed event within {Patience.TotalSeconds} s");
            output.WriteLine($"failover: {sent:N0} exec+exit events of {hosts.Count} hosts streamed, all acknowledged");
            return results;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            output.WriteLine($"--- {oldest.Name} ---\n{oldest.LogTail()}\n--- {younger.Name} ---\n{younger.LogTail()}");
            throw;
        }
    }

    private static async Task<Failover> KillAndMeasureAsync(TestDatabase database, GatewayNode watcher, GatewayProcess victim, string killed, List<string> hosts)
    {
        // The coordinator may have placed every shard before the other region registered (a loaded
        // machine); its rebalancing then moves some over within a few rebalance intervals (10 s each).
        await WaitForAsync(async () => (await HostsOnAsync(watcher, [victim], hosts)).Count > 0, $"{victim.Name} holds the shard of a streamed host");
        var moved = await HostsOnAsync(watcher, [victim], hosts);
        if (moved.Count == 0) throw new InvalidOperationException($"{victim.Name} handed its last streamed shard away just now; nothing would fail over");

        // Compared with the journal's `created` (DateTime.UtcNow.Ticks of the writing gateway).
        var killTicks = DateTime.UtcNow.Ticks;
        var sinceKill = Stopwatch.StartNew();
        victim.KillHard();
        TimeSpan? unreachable = null, downed = null;
        var resumed = new Dictionary<string, long>();
        while (downed is null || resumed.Count < moved.Count)
        {
            if (sinceKill.Elapsed > Patience)
                throw new TimeoutException($"after kill -9 of {victim.Name}: unreachable {unreachable?.TotalSeconds}, downed {downed?.TotalSeconds}, " +
                                           $"{resumed.Count} of {moved.Count} moved hosts stored again within {Patience.TotalSeconds} s");
            unreachable ??= downed is null && IsUnreachable(watcher, victim.Port) ? sinceKill.Elapsed : null;
            downed ??= UpGateways(watcher) == 2 ? sinceKill.Elapsed : null;
            if (resumed.Count < moved.Count)
                foreach (var (host, created) in await FirstRowsAfterAsync(database, moved, killTicks)) resumed[host] = created;
            await Task.Delay(PollInterval);
        }
        return new Failover(killed, moved.Count, unreachable, downed.Value,
            TimeSpan.FromTicks(resumed.Values.Min() - killTicks), TimeSpan.FromTicks(resumed.Values.Max() - killTicks));
    }

    /// <summary>Exec then exit of a new process on each host in turn, a few milliseconds apart, until cancelled; returns the events sent.</summary>
    private static async Task<int> StreamAsync(CollectorNode collector, string[] hostNames, CancellationToken ct)
    {
        var forwarder = collector.Forwarder;
        var hosts = hostNames.Select(name => new SyntheticHost(name)).ToArray();
        var inits = hosts.Select(host => host.NewProcess(1, null, "/sbin/init")).ToArray();
        for (var i = 0; i < hosts.Length; i++) forwarder.OnEnriched(hosts[i].Exec(inits[i], null));
        var sent = hosts.Length;
        for (var pid = 2; !ct.IsCancellationRequested; pid++)
        {
            for (var i = 0; i < hosts.Length; i++)
            {
                var job = hosts[i].NewProcess(pid, inits[i], "/usr/bin/job", pid.ToString(CultureInfo.InvariantCulture));
                forwarder.OnEnriched(hosts[i].Exec(job, inits[i]));
                forwarder.OnEnriched(hosts[i].Exit(job, inits[i]));
                sent += 2;
            }
            await Task.Delay(StreamPause, CancellationToken.None);
        }
        return sent;
    }

    /// <summary>The hosts whose shard lives in the region of one of <paramref name="gateways"/>, asked through the watcher's region.</summary>
    private static async Task<HashSet<string>> HostsOnAsync(GatewayNode watcher, GatewayProcess[] gateways, List<string> hosts)
    {
        var timeout = TimeSpan.FromSeconds(10);
        var stats = await watcher.HostTrees.Ask<ClusterShardingStats>(new GetClusterShardingStats(timeout), timeout + timeout);
        var shards = new HashSet<string>();
        foreach (var (address, region) in stats.Regions)
            if (gateways.Any(g => g.Port == address.Port))
                shards.UnionWith(region.Stats.Keys);
        var extractor = new HostMessageExtractor(watcher.Settings.Cluster.Shards);
        return hosts.Where(host => shards.Contains(extractor.ShardId(host))).ToHashSet();
    }

    /// <summary>Per host, the <c>created</c> ticks of its first journal row written after <paramref name="ticks"/>.</summary>
    private static async Task<List<(string Host, long Created)>> FirstRowsAfterAsync(TestDatabase database, IReadOnlyCollection<string> hosts, long ticks)
    {
        await using var connection = await database.Settings.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT persistence_id, MIN(created) FROM journal WHERE persistence_id = ANY(@ids) AND created > @ticks GROUP BY persistence_id";
        var ids = command.CreateParameter();
        ids.ParameterName = "@ids";
        ids.Value = hosts.Select(HostTreeEntity.PersistenceIdOf).ToArray();
        command.Parameters.Add(ids);
        var after = command.CreateParameter();
        after.ParameterName = "@ticks";
        after.Value = ticks;
        command.Parameters.Add(after);
        var rows = new List<(string, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetInt64(1)));
        return rows;
    }

    private static int UpGateways(GatewayNode node) =>
        Akka.Cluster.Cluster.Get(node.System).State.Members.Count(m => m.Status == MemberStatus.Up && m.HasRole(FleetRoles.Gateway));

    private static bool IsUnreachable(GatewayNode node, int port) =>
        Akka.Cluster.Cluster.Get(node.System).State.Unreachable.Any(m => m.Address.Port == port);

    private static Task WaitForAsync(Func<bool> condition, string what) =>
        WaitForAsync(() => Task.FromResult(condition()), what);

    private static Task WaitForAsync(Func<Task<bool>> condition, string what) => TestNodes.EventuallyAsync(condition, what, Patience);
}
