using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Hosting;
using Akka.Remote.Hosting;
using Forkline.Forwarding;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using AkkaLogging = Akka.Event.Logging;

namespace Forkline.Hosting;

/// <summary>
/// The actor system of a Forkline node, composed with Akka.Hosting's typed options: what every node runs
/// with (<see cref="WithForklineDefaults"/>), and what a gateway adds as a cluster member
/// (<see cref="WithGatewayMember"/>).
/// </summary>
public static class AkkaComposition
{
    /// <summary>What every Forkline actor system runs with; a collector node's (no remoting, no cluster) is only this.</summary>
    /// <param name="logLevel">Akka's log level (DEBUG, INFO, WARNING, ERROR).</param>
    public static AkkaConfigurationBuilder WithForklineDefaults(this AkkaConfigurationBuilder akka, string logLevel, ILoggerFactory loggers) => akka
        .ConfigureLoggers(logging =>
        {
            logging.LogLevel = AkkaLogging.LogLevelFor(logLevel);
            // stdout carries events only (`forkline run --json`): Akka logs through the bridge to the node's ILogger (stderr).
            logging.ClearLoggers();
            logging.AddLogger<AkkaLoggerBridge>();
        })
        .AddSetup(new LoggerFactorySetup(loggers))
        // Only message types bound to a serializer cross the wire or reach the journal: nothing falls back
        // to the JSON serializer's polymorphic type names.
        .WithStrictSerialization(true)
        .AddHocon(WithoutTypedOption(
            // Akka's standard-out logger still speaks before the bridge starts and after it stops (the node
            // commands point Console.Out at stderr); OFF would be cleaner, but with it the persistence
            // plugins never answered at start (Akka 1.5.75).
            ("akka.stdout-loglevel", logLevel),
            // The host stops a node in order (see NodeHost). Akka's own exit/signal hook would stop it at
            // once, under that drain, and the forwarder would drop every event not yet acknowledged.
            ("akka.coordinated-shutdown.run-by-clr-shutdown-hook", "off"),
            // A node must cost its idle host nothing: a scheduler that sleeps until the next deadline
            // instead of waking every 10 ms (akka.scheduler.tick-duration) whether anything is due or not.
            ("akka.scheduler.implementation", typeof(DeadlineScheduler).AssemblyQualifiedName!)), HoconAddMode.Prepend);

    /// <summary>
    /// A gateway, the only kind of cluster member: remoting (TLS with <see cref="ClusterSettings.Tls"/>),
    /// the cluster, SQL persistence on <paramref name="database"/>, the host-entity shard region
    /// (<see cref="ActorRegistry"/> key <see cref="HostTreeEntity"/>) and the history projection singleton.
    /// </summary>
    public static AkkaConfigurationBuilder WithGatewayMember(this AkkaConfigurationBuilder akka, GatewaySettings settings, DatabaseSettings database,
        GatewayMetrics metrics, HistoryStore history, StoreHealth store)
    {
        var cluster = settings.Cluster;
        akka.AddSetup(ForklineWireSerializer.Setup());
        if (settings.SplitBrainResolver == SplitBrainStrategy.LeaseMajority) akka.AddSetup(new DatabaseLeaseSetup(database));
        if (cluster.Tls.Enabled) akka.AddSetup(cluster.Tls.CreateSetup(settings.Roles));
        var hostTree = settings.HostTree;
        return akka
            .WithRemoting(new RemoteOptions
            {
                HostName = cluster.Hostname,
                Port = cluster.Port,
                // The certificate and the fleet-CA validator come with ClusterTlsSettings.CreateSetup.
                EnableSsl = cluster.Tls.Enabled,
                // A forwarder batch is at most 64 KiB (ForwarderSettings.MaxBatchBytes) unless one event is
                // larger (a long argv, a deep ancestor chain) and travels alone: past the 128 KB default,
                // Akka.Remote would discard it and the forwarder resend it forever.
                MaxFrameSize = ForklineWireSerializer.MaximumFrameBytes,
            })
            .WithClustering(new ClusterOptions { Roles = [.. settings.Roles], SeedNodes = cluster.Seeds })
            .WithSqlPersistence(JournalOf(database, settings.QueryRefreshInterval), SnapshotsOf(database))
            .WithDistributedPubSub(FleetRoles.Gateway)
            .WithShardRegion<HostTreeEntity>(HostMessageExtractor.TypeName,
                host => HostTreeEntity.Props(host, hostTree, metrics, store),
                new HostMessageExtractor(cluster.Shards),
                new ShardOptions
                {
                    Role = FleetRoles.Gateway,
                    StateStoreMode = StateStoreMode.DData,
                    RememberEntities = false,
                })
            // No durable (LMDB) store on disk: without remember-entities, sharding's replicated state needs none.
            .WithShardingDistributedData(data => data.Durable.Keys = [])
            .WithSingleton<HistoryProjection>(HistoryProjection.Name, "singleton",
                HistoryProjection.Props(history, settings.Projection, settings.QueryRefreshInterval, metrics, store),
                new ClusterSingletonOptions { Role = FleetRoles.Gateway }, createProxyToo: false)
            .WithActors((system, _) =>
            {
                if (cluster.DownGoneMembers) system.ActorOf(GoneMemberDowning.Props(metrics), "forkline-gone-member-downing");
            })
            .AddHocon(WithoutTypedOption(GatewayUntypedSettings(settings, database)), HoconAddMode.Prepend);
    }

    private static IEnumerable<(string Path, string Value)> GatewayUntypedSettings(GatewaySettings settings, DatabaseSettings database)
    {
        // Live events are published whether or not anyone watches; nobody watching is no dead letter.
        yield return ("akka.cluster.pub-sub.send-to-dead-letters-when-no-subscribers", "off");
        // Idle cost: each periodic tick wakes the scheduler and a pool thread. Subscriptions (a gateway's
        // live-event hub, once at its start) spread within 2 s instead of 1 s.
        yield return ("akka.cluster.pub-sub.gossip-interval", "2s");
        // Every endpoint writer (one or two per peer gateway) checks for a system-message ack to send every half of
        // this, 0.3 s by default: 7 scheduler wakeups and thread-pool hops a second per writer on an idle cluster.
        // Those acks (deathwatch, supervision between gateways) are rare and ride on ordinary traffic anyway; 1 s
        // stays below the 2 s after which an unacknowledged one is sent again (akka.remote.resend-interval).
        yield return ("akka.remote.system-message-ack-piggyback-timeout", "1s");
        // The coordinator reads and writes its state directly; nothing waits on change notifications,
        // so they need not be flushed twice a second.
        yield return ("akka.cluster.sharding.distributed-data.notify-subscribers-interval", "2s");
        // Akka's read journal polls the newest journal ordering at this pace once a replay made it, for queries
        // by tag or over all events that no part of Forkline makes (the projection reads the journal itself,
        // a replay reads by persistence id): once a minute instead of every refresh interval, for ever.
        yield return ("akka.persistence.query.journal.sql.journal-sequence-retrieval.query-delay", "60s");
        // The coordinator writes and reads its state with majority consistency itself, so the replicator's gossip
        // is only anti-entropy; it also paces the delta-propagation tick (a fifth of it, 0.4 s at the default 2 s),
        // which runs whether or not there is a delta: 4 of the replicator's 5 wakeups a second on an idle gateway.
        yield return ("akka.cluster.sharding.distributed-data.gossip-interval", "10s");
        // SQLite takes one writer at a time; more connections would only wait on its lock.
        yield return ("akka.persistence.journal.sql.parallelism", database.Provider == DatabaseProvider.Sqlite ? "1" : "4");
        yield return ("akka.cluster.split-brain-resolver.stable-after", $"{(long)settings.Cluster.DownUnreachableAfter.TotalMilliseconds}ms");
        yield return ("akka.cluster.down-removal-margin", $"{(long)settings.Cluster.DownRemovalMargin.TotalMilliseconds}ms");
        if (settings.SplitBrainResolver == SplitBrainStrategy.LeaseMajority)
            foreach (var setting in LeaseMajoritySettings(settings.Cluster.LeaseTimeout)) yield return setting;
    }

    /// <summary>The HOCON block the split-brain resolver's lease is built from (Akka's LeaseProvider reads it by path).</summary>
    public const string LeaseConfigPath = "forkline.split-brain-lease";

    /// <summary>
    /// With two gateways left, keep-majority breaks a tie for the lowest address, also when that one is the
    /// gateway that froze or died: the healthy one downs itself. A lease in the fleet's database breaks it
    /// for the side that can still act (Akka's lease-majority: the majority side asks at once, a minority
    /// or a tie's higher side after acquire-lease-delay-for-minority, 2 s).
    /// </summary>
    private static IEnumerable<(string Path, string Value)> LeaseMajoritySettings(TimeSpan leaseTimeout)
    {
        yield return ("akka.cluster.split-brain-resolver.active-strategy", "lease-majority");
        // Akka's default downs every member once reachability has kept changing for stable-after + 3/4 of it:
        // on a starved machine heartbeats arrive seconds late and flap, and that took down all three gateways of
        // a simulated fleet that was only busy. With a lease only one side can ever decide, so waiting for a
        // stable view is safe: the cluster decides once the flapping stops, and overloaded gateways stay up.
        yield return ("akka.cluster.split-brain-resolver.down-all-when-unstable", "off");
        yield return ("akka.cluster.split-brain-resolver.lease-majority.lease-implementation", LeaseConfigPath);
        yield return ("akka.cluster.split-brain-resolver.lease-majority.role", FleetRoles.Gateway);
        yield return (LeaseConfigPath + ".lease-class", typeof(DatabaseLease).AssemblyQualifiedName!);
        yield return (LeaseConfigPath + ".heartbeat-timeout", $"{(long)leaseTimeout.TotalMilliseconds}ms");
        yield return (LeaseConfigPath + ".heartbeat-interval", $"{(long)(leaseTimeout / 4).TotalMilliseconds}ms");
    }

    private static SqlJournalOptions JournalOf(DatabaseSettings database, TimeSpan queryRefreshInterval) =>
        new(isDefaultPlugin: true)
        {
            ConnectionString = database.ConnectionString,
            ProviderName = database.Linq2DbProviderName,
            DataOptions = database.PersistenceDataOptions(),
            AutoInitialize = true,
            TagStorageMode = TagMode.Csv,
            QueryRefreshInterval = queryRefreshInterval,
        };

    private static SqlSnapshotOptions SnapshotsOf(DatabaseSettings database) => new(isDefaultPlugin: true)
    {
        ConnectionString = database.ConnectionString,
        ProviderName = database.Linq2DbProviderName,
        DataOptions = database.PersistenceDataOptions(),
        AutoInitialize = true,
    };

    /// <summary>
    /// Settings that Akka.Hosting has no typed option for (Akka 1.5.75), by their HOCON paths. They go
    /// in as key/value pairs, never as HOCON text: no value needs quoting, none can break the syntax.
    /// </summary>
    private static IConfiguration WithoutTypedOption(params IEnumerable<(string Path, string Value)> settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(setting => new KeyValuePair<string, string?>(setting.Path.Replace('.', ':'), setting.Value)))
            .Build();
}
