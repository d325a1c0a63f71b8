using Forkline.Contracts.Accounting;
using Forkline.Contracts.Snapshots;
using Forkline.Forwarding;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Forkline.Hosting;
using Forkline.Testing;
using Npgsql;

namespace Forkline.Gateway.Tests;

/// <summary>
/// The PostgreSQL side of <see cref="StorageFaultTests"/>, where the errors differ (SQLSTATE, not SQLite
/// codes): the database turns read-only under a running gateway (default_transaction_read_only, for the
/// sessions opened from then on), and back.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class StorageFaultOnPostgreSqlTests(PostgresServer server) : IDisposable
{
    private readonly TestDatabase _data = server.NewDatabase();
    private readonly SyntheticHost _host = new("node-a");
    private readonly CapturingLogger _log = new();

    public void Dispose() => _data.Dispose();

    [DatabaseFact]
    public async Task A_database_turned_read_only_is_one_line_not_ready_and_the_held_events_are_stored_once_it_takes_writes_again()
    {
        var sent = 0;
        var settings = TestNodes.Settings(_data) with
        {
            Forwarder = new ForwarderSettings
            {
                BatchSize = 64, FlushInterval = TimeSpan.FromMilliseconds(20),
                AckTimeout = TimeSpan.FromSeconds(1), MaxRetryInterval = TimeSpan.FromSeconds(1),
            },
        };
        await using (var node = await GatewayNode.StartAsync(settings, _log))
        {
            await node.WaitUntilUpAsync(TestNodes.Patience);
            node.Forwarder!.ReportRun("node-a", () => UpstreamOf(sent));
            var (chain, init, _, _, _) = _host.ShellChain(100);
            sent += Send(node, chain);
            Assert.True(await node.Forwarder.FlushAsync(TestNodes.Patience));

            await SetReadOnlyAsync(true);
            var children = new List<EnrichedEvent>();
            for (var i = 0; i < 100; i++) children.Add(_host.Exec(_host.NewProcess(1_000 + i, init, "/bin/true"), init));
            sent += Send(node, children);
            // The history projection may meet the read-only database first (it applies the chain late on a loaded machine);
            // the journal meets it with the children's batch, which the forwarder sends again until it is taken.
            await TestNodes.EventuallyAsync(() => Task.FromResult(!node.Store.Writable && node.MetricsExport.Value("forkline_store_faults_total", "journal", "read_only") >= 1),
                "the store reports the read-only database, and the journal's writes count as its faults", TimeSpan.FromSeconds(90));
            Assert.False(node.IsReady);

            await SetReadOnlyAsync(false);
            Assert.True(await node.Forwarder.FlushAsync(TimeSpan.FromSeconds(90)), "what the forwarder held is stored once the database takes writes");
            Assert.True(node.Store.Writable);
            Assert.True(node.IsReady);
            Assert.True(await node.Forwarder.ReportFinalAsync(TestNodes.Patience));
            var run = Assert.Single(await node.Queries.GetHostStatsAsync("node-a", CancellationToken.None));
            Assert.Equal(sent, run.Gateway.Stored);
            Assert.True(run.Balance!.Value.Balanced, $"{run.Balance}");
        }
        var fault = Assert.Single(_log, m => m.Contains("cannot be written", StringComparison.Ordinal));
        Assert.Contains("make it writable", fault);
        Assert.Single(_log, m => m.Contains("takes writes again", StringComparison.Ordinal));
    }

    /// <summary>For the sessions opened from now on; the pools are cleared so that the node's next ones are.</summary>
    private async Task SetReadOnlyAsync(bool readOnly)
    {
        var database = new NpgsqlConnectionStringBuilder(_data.Settings.ConnectionString).Database;
        await using (var connection = await _data.Settings.OpenAsync(CancellationToken.None))
        {
            // This session is itself read-only while the database is; the SET applies from its next transaction.
            foreach (var sql in (string[])["SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
                         $"ALTER DATABASE {database} SET default_transaction_read_only = {(readOnly ? "on" : "off")}"])
            {
                await using var command = connection.CreateCommand();
                command.CommandText = sql;
                await command.ExecuteNonQueryAsync();
            }
        }
        NpgsqlConnection.ClearAllPools();
    }

    private static int Send(GatewayNode node, List<EnrichedEvent> events)
    {
        foreach (var enriched in events) node.Forwarder!.OnEnriched(enriched);
        node.Forwarder!.OnBatchEnd();
        return events.Count;
    }

    private static UpstreamCounts UpstreamOf(int events) => new("node-a", "test", DateTime.UtcNow,
        new SourceCounts(Produced: events, Bootstrapped: 0, Lost: 0, Discarded: 0, Malformed: 0, Delivered: events),
        new PipelineCounts(Received: events, Discarded: 0, Withheld: 0, GaveUpWaiting: 0, Waiting: 0, Published: events, SinkFailures: 0));
}
