using Akka.Actor;
using Akka.Persistence.Sql.Config;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using LinqToDB.Data;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Forkline.Gateway.Tests.Hosting;

/// <summary>What a gateway's actor system runs with, as Akka reads it back from the typed composition.</summary>
public sealed class AkkaCompositionTests
{
    [Fact]
    public async Task A_gateway_runs_the_settings_that_keep_its_wire_its_journal_and_its_idle_cost_as_intended()
    {
        using var database = new TestDatabase();
        var settings = TestNodes.Settings(database);
        await using var node = await TestNodes.StartAsync(settings with { Cluster = settings.Cluster with { DownUnreachableAfter = TimeSpan.FromSeconds(7), DownRemovalMargin = TimeSpan.FromSeconds(3) } });
        var config = node.System.Settings.Config;

        Assert.IsType<Akka.Cluster.ClusterActorRefProvider>(((ExtendedActorSystem)node.System).Provider);
        Assert.False(config.GetBoolean("akka.actor.serialization-settings.allow-unregistered-types"));
        Assert.Equal(ForklineWireSerializer.MaximumFrameBytes, config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"));
        Assert.False(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.Equal(typeof(DeadlineScheduler), node.System.Scheduler.GetType());
        Assert.False(config.GetBoolean("akka.coordinated-shutdown.run-by-clr-shutdown-hook"));
        Assert.Equal(TimeSpan.FromSeconds(7), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        // What sharding and the singletons wait after a downed member left; Akka's own default would be stable-after again.
        Assert.Equal(TimeSpan.FromSeconds(3), Akka.Cluster.Cluster.Get(node.System).DowningProvider.DownRemovalMargin);
        // One gateway on its SQLite file: nothing to split, and no fleet database to hold a lease.
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        // Keep-majority's sides decide apart: when reachability never settles, Akka downs everyone rather than risk two clusters.
        Assert.Equal("on", config.GetString("akka.cluster.split-brain-resolver.down-all-when-unstable"));
        Assert.Equal(["gateway"], config.GetStringList("akka.cluster.roles"));
        Assert.False(config.GetBoolean("akka.cluster.pub-sub.send-to-dead-letters-when-no-subscribers"));
        Assert.Equal("akka.persistence.journal.sql", config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal("akka.persistence.snapshot-store.sql", config.GetString("akka.persistence.snapshot-store.plugin"));
        Assert.Equal(1, config.GetInt("akka.persistence.journal.sql.parallelism"));
        Assert.Equal("Csv", config.GetString("akka.persistence.journal.sql.tag-write-mode"), ignoreCase: true);
        Assert.Equal("Csv", config.GetString("akka.persistence.query.journal.sql.tag-read-mode"), ignoreCase: true);
        Assert.Equal(TimeSpan.FromMilliseconds(100), config.GetTimeSpan("akka.persistence.query.journal.sql.refresh-interval"));
        Assert.Equal(TimeSpan.FromSeconds(60), config.GetTimeSpan("akka.persistence.query.journal.sql.journal-sequence-retrieval.query-delay"));
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.cluster.pub-sub.gossip-interval"));
        Assert.Equal(TimeSpan.FromSeconds(1), config.GetTimeSpan("akka.remote.system-message-ack-piggyback-timeout"));
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.cluster.sharding.distributed-data.notify-subscribers-interval"));
        Assert.Equal(TimeSpan.FromSeconds(10), config.GetTimeSpan("akka.cluster.sharding.distributed-data.gossip-interval"));
        Assert.Equal(new SqliteConnectionStringBuilder(database.Settings.ConnectionString).DataSource,
            new SqliteConnectionStringBuilder(config.GetString("akka.persistence.journal.sql.connection-string")).DataSource);
    }

    [Fact]
    public async Task The_persistence_plugins_open_their_SQLite_connections_without_a_sync_per_commit()
    {
        using var database = new TestDatabase();
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(database));
        var connections = node.System.Settings.Setup.Get<MultiDataOptionsSetup>();

        Assert.True(connections.HasValue, "the actor system has no connection setup for the persistence plugins");
        foreach (var plugin in new[] { "akka.persistence.journal.sql", "akka.persistence.snapshot-store.sql", "akka.persistence.query.journal.sql" })
        {
            Assert.True(connections.Value.TryGetDataOptionsFor(plugin, out var options), $"no connection options for {plugin}");
            await using var connection = new DataConnection(options!);
            // 1 = NORMAL: in WAL mode the log is synced at checkpoints, not at every commit (2 = FULL, SQLite's default).
            Assert.Equal(1, connection.Execute<long>("PRAGMA synchronous"));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_gateway_downs_gone_members_at_once_unless_its_settings_say_otherwise(bool downGoneMembers)
    {
        using var database = new TestDatabase();
        var settings = TestNodes.Settings(database);
        await using var node = await TestNodes.StartAsync(settings with { Cluster = settings.Cluster with { DownGoneMembers = downGoneMembers } });

        var found = await node.System.ActorSelection("/user/forkline-gone-member-downing").ResolveOne(TimeSpan.FromSeconds(3))
            .ContinueWith(resolved => resolved.IsCompletedSuccessfully, TaskScheduler.Default);

        Assert.Equal(downGoneMembers, found);
    }
}
