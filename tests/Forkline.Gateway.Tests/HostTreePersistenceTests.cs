using Akka.Actor;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Accounting;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Forkline.Hosting;

namespace Forkline.Gateway.Tests;

/// <summary>Runs on SQLite and on PostgreSQL: see the two subclasses at the end.</summary>
public abstract class HostTreePersistenceTests(TestDatabase data) : IDisposable
{
    private readonly TestDatabase _data = data;
    private readonly SyntheticHost _host = new("node-a");

    public void Dispose() => _data.Dispose();

    [DatabaseTheory]
    [InlineData(3)]
    [InlineData(5_000)]
    public async Task A_restarted_node_recovers_the_identical_tree_from_journal_and_snapshots(int snapshotEvery)
    {
        var (events, init, bash, sh, sleep) = _host.ShellChain(100);
        events.Add(_host.Exit(sh, bash));
        var worker = _host.NewProcess(200, init, "/usr/bin/worker");
        events.Add(_host.Exec(worker, init));
        events.Add(_host.Exit(_host.NewProcess(201, worker, "/bin/true"), worker));

        LiveProcessList before;
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data, snapshotEvery: snapshotEvery)))
        {
            await SendAsync(node, events);
            before = await TreeOf(node);
        }

        Assert.Equal(
            [init.ExecId.Pid, bash.ExecId.Pid, sh.ExecId.Pid, sleep.ExecId.Pid, worker.ExecId.Pid],
            before.Processes.Select(p => p.Process.Pid).Order());

        await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data, snapshotEvery: snapshotEvery));
        var after = await TreeOf(restarted);
        Assert.Equal(Sorted(before), Sorted(after));
        Assert.Equal(snapshotEvery < events.Count, (await StoredFormatsAsync("SELECT DISTINCT serializer_id, manifest FROM snapshot")).Count > 0);
    }

    [DatabaseFact]
    public async Task A_host_entity_started_again_counts_its_recovery_and_the_journal_entries_it_replayed()
    {
        var (events, _, _, _, _) = _host.ShellChain(100);
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data)))
        {
            await SendAsync(node, events);
            Assert.Equal(1, node.MetricsExport.Value("forkline_host_recoveries_total"));
            Assert.Equal(0, node.MetricsExport.Value("forkline_host_recovery_entries_total"));
        }

        await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await TreeOf(restarted);
        Assert.Equal(1, restarted.MetricsExport.Value("forkline_host_recoveries_total"));
        Assert.InRange(restarted.MetricsExport.Value("forkline_host_recovery_entries_total"), 1, events.Count);
        Assert.True(restarted.MetricsExport.Value("forkline_host_recovery_seconds_total") > 0);
    }

    [DatabaseFact]
    public async Task A_clone_stored_after_its_exec_and_exit_is_not_live_in_the_tree_recovered_from_a_snapshot()
    {
        var (events, _, bash, _, _) = _host.ShellChain(100);
        var forked = _host.NewProcess(300, bash, "/bin/bash");
        var execed = _host.NewProcess(300, bash, "/bin/true");
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data, snapshotEvery: 1)))
        {
            await SendAsync(node, [.. events, _host.Exec(execed, bash), _host.Exit(execed, bash)]);
            // One journal entry, one snapshot at it: the restarted entity recovers from the snapshot alone.
            await TestNodes.EventuallyAsync(async () => (await StoredFormatsAsync("SELECT DISTINCT serializer_id, manifest FROM snapshot")).Count > 0,
                "the snapshot row is written");
        }

        // As after a gateway restart: the collector's resent batch brings the clone of the image that has exited.
        await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data, snapshotEvery: 1));
        await SendAsync(restarted, [_host.Clone(forked, bash)]);

        var live = await TreeOf(restarted);
        Assert.DoesNotContain(live.Processes, p => p.Process.Pid == forked.Pid);
        Assert.Equal(1, restarted.MetricsExport.Value("forkline_gateway_events_total", "clone", "accepted"));
    }

    [DatabaseFact]
    public async Task Journal_and_snapshot_rows_are_written_by_the_forkline_protobuf_serializer()
    {
        var (events, _, _, _, _) = _host.ShellChain(100);
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data, snapshotEvery: 2)))
            await SendAsync(node, events);

        Assert.Equal([(ForklineWireSerializer.SerializerId, "jh")], await StoredFormatsAsync("SELECT DISTINCT identifier, manifest FROM journal"));
        Assert.Equal([(ForklineWireSerializer.SerializerId, "js")], await StoredFormatsAsync("SELECT DISTINCT serializer_id, manifest FROM snapshot"));
    }

    [DatabaseFact]
    public async Task Duplicates_sent_on_purpose_are_stored_once()
    {
        var (events, _, _, sh, sleep) = _host.ShellChain(100);
        events.Add(_host.Exit(sleep, sh));
        var hook = _host.Hook(sh, null, sh.Pid);

        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await SendAsync(node, [.. events, hook]);
        await SendAsync(node, [.. events, hook]);
        await SendAsync(node, [events[1], events[1], events[4], hook]);

        var replayed = await node.Queries!.ReplayAsync("node-a", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
        Assert.Equal(events.Select(Gateway.Cluster.WireConverter.EventIdOf), replayed.Select(Gateway.Cluster.WireConverter.EventIdOf));
        Assert.Equal(events.Count + 1, node.MetricsExport.Value("forkline_gateway_events_total", "exec", "accepted") + node.MetricsExport.Value("forkline_gateway_events_total", "exit", "accepted")
                                       + node.MetricsExport.Value("forkline_gateway_events_total", "hook", "accepted"));
    }

    [DatabaseFact]
    public async Task With_persist_hooks_on_hooks_are_journaled_and_still_recognised_as_duplicates_after_a_restart()
    {
        var (events, _, _, sh, _) = _host.ShellChain(100);
        var hook = _host.Hook(sh, null, sh.Pid + 1);
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data, persistHooks: true)))
            await SendAsync(node, [.. events, hook]);

        await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data, persistHooks: true));
        await SendAsync(restarted, [hook]);
        Assert.Equal(1, restarted.MetricsExport.Value("forkline_gateway_events_total", "hook", "duplicate"));
        var replayed = await restarted.Queries!.ReplayAsync("node-a", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
        Assert.Equal(events.Count, replayed.Count);
    }

    [DatabaseFact]
    public async Task An_admin_snapshot_request_saves_the_host_tree_at_its_current_journal_position()
    {
        var (events, _, _, _, _) = _host.ShellChain(100);
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        Assert.Equal(0, (await node.Queries!.SnapshotHostAsync("node-a", CancellationToken.None)).SequenceNr);
        await SendAsync(node, events);

        var taken = await node.Queries.SnapshotHostAsync("node-a", CancellationToken.None);

        Assert.Equal(events.Count, taken.Processes);
        Assert.True(taken.SequenceNr > 0);
        await TestNodes.EventuallyAsync(async () => (await StoredFormatsAsync("SELECT DISTINCT serializer_id, manifest FROM snapshot")).Count > 0,
            "the snapshot row is written");
    }

    [DatabaseFact]
    public async Task Two_gateways_starting_at_once_on_one_fresh_database_create_the_schema_once_and_share_the_history()
    {
        int[] ports = [TestNodes.FreePort(), TestNodes.FreePort()];
        string[] seeds = [GatewaySettings.SeedAddress("127.0.0.1", ports[0])];
        var starting = ports.Select(port => TestNodes.StartAsync(TestNodes.Settings(_data, seeds: seeds, port: port))).ToArray();
        try
        {
            await Task.WhenAll(starting);
            var (events, _, _, sh, sleep) = _host.ShellChain(100);
            events.Add(_host.Exit(sleep, sh));
            await SendAsync(starting[1].Result, events);

            var replayed = await starting[0].Result.Queries!.ReplayAsync("node-a", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
            Assert.Equal(events.Select(WireConverter.EventIdOf), replayed.Select(WireConverter.EventIdOf));
        }
        finally
        {
            foreach (var node in starting)
                if (node.IsCompletedSuccessfully) await node.Result.DisposeAsync();
        }
    }

    [DatabaseTheory]
    [InlineData(2)]
    [InlineData(5_000)]
    public async Task A_runs_stored_count_and_final_report_survive_a_restart(int snapshotEvery)
    {
        var (events, _, _, sh, sleep) = _host.ShellChain(100);
        events.Add(_host.Exit(sleep, sh));
        var hooks = new[] { _host.Hook(sh, null, sh.Pid), _host.Hook(sleep, null, sleep.Pid) };
        var produced = events.Count + hooks.Length;
        var upstream = UpstreamOf(produced);

        HostRunStats before;
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data, snapshotEvery: snapshotEvery)))
        {
            node.Forwarder!.ReportRun("node-a", () => upstream);
            await SendAsync(node, [.. events, .. hooks]);
            Assert.True(await node.Forwarder.ReportFinalAsync(TestNodes.Patience), "the entity takes the final report");
            before = Assert.Single(await node.Queries!.GetHostStatsAsync("node-a", CancellationToken.None));
        }

        // A batch whose ack came after the ack timeout (a loaded machine) is sent again and counted as a resent receipt,
        // which lives in memory and snapshots, not in the journal: only the journaled counts must survive the restart.
        var journaled = before.Gateway with { ResentReceipts = 0 };
        Assert.Equal(new GatewayCounts(Stored: events.Count, AlreadyStored: 0, Rejected: 0, ResentReceipts: 0), journaled);
        Assert.True(before.Report!.Final);
        Assert.Equal(new ForwardCounts(Received: produced, DroppedFull: 0, DroppedShutdown: 0, Buffered: 0,
            AcknowledgedLifecycle: events.Count, AcknowledgedHooks: hooks.Length), before.Report.Forward);
        Assert.True(before.Balance!.Value.Balanced);

        await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data, snapshotEvery: snapshotEvery));
        var after = Assert.Single(await restarted.Queries!.GetHostStatsAsync("node-a", CancellationToken.None));
        Assert.Equal(before.RunId, after.RunId);
        Assert.Equal(journaled, after.Gateway with { ResentReceipts = 0 });
        Assert.Equal(before.Report, after.Report);
        Assert.True(after.Balance!.Value.Balanced);
    }

    [DatabaseFact]
    public async Task Events_a_later_run_sends_again_count_as_already_stored_and_that_survives_a_restart()
    {
        var (events, _, _, sh, sleep) = _host.ShellChain(100);
        events.Add(_host.Exit(sleep, sh));
        var upstream = UpstreamOf(events.Count);
        await using (var first = await TestNodes.StartAsync(TestNodes.Settings(_data)))
            await SendAsync(first, events);

        string secondRun;
        await using (var second = await TestNodes.StartAsync(TestNodes.Settings(_data)))
        {
            // A restarted collector's procfs bootstrap describes processes the previous run already stored.
            second.Forwarder!.ReportRun("node-a", () => upstream);
            await SendAsync(second, events);
            Assert.True(await second.Forwarder.ReportFinalAsync(TestNodes.Patience));
            var runs = await second.Queries!.GetHostStatsAsync("node-a", CancellationToken.None);
            var run = runs.Single(r => r.Report is not null);
            secondRun = run.RunId;
            Assert.Equal(new GatewayCounts(Stored: 0, AlreadyStored: events.Count, Rejected: 0, ResentReceipts: 0), run.Gateway);
            Assert.True(run.Balance!.Value.Balanced);
        }

        await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data));
        var recovered = (await restarted.Queries!.GetHostStatsAsync("node-a", CancellationToken.None)).Single(r => r.RunId == secondRun);
        Assert.Equal(events.Count, recovered.Gateway.AlreadyStored);
        Assert.True(recovered.Balance!.Value.Balanced);
    }

    [DatabaseFact]
    public async Task A_run_that_ended_without_a_final_report_is_marked_crashed_by_the_next_start_which_records_the_gap()
    {
        var (events, init, bash, sh, sleep) = _host.ShellChain(100);
        string crashedRun;
        await using (var first = await TestNodes.StartAsync(TestNodes.Settings(_data)))
        {
            // No final report: the run dies as if killed.
            await SendAsync(first, events);
            crashedRun = Assert.Single(await first.Queries!.GetHostStatsAsync("node-a", CancellationToken.None)).RunId;
        }

        var lastSeen = events[^1].Time;
        var scanTime = lastSeen.AddMinutes(3);
        string nextRun;
        await using (var second = await TestNodes.StartAsync(TestNodes.Settings(_data)))
        {
            // sleep is gone; init, bash and sh still run.
            var reconciled = await second.Forwarder!.ReconcileAsync(ScanOf(scanTime, init, bash, sh), TestNodes.Patience);
            Assert.Equal(1, reconciled.Concluded);
            var gap = await GapsEventuallyAsync(second, 1);
            nextRun = gap[0].NextRunId;
            Assert.Equal(new HostGap("node-a", lastSeen, scanTime, HostGapReason.CollectorCrashed, crashedRun, nextRun, 0), gap[0]);
            Assert.NotEmpty(nextRun);

            var replay = await second.Queries!.ReplayAsync("node-a", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
            var concluded = Assert.IsType<EnrichedExit>(replay[^1]);
            Assert.Equal((sleep.ExecId, ExitConclusion.Restart, lastSeen), (concluded.Process.ExecId, concluded.Process.Exit!.Conclusion, concluded.Process.Exit.EndedAfter));
        }

        await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data));
        var crashed = (await restarted.Queries!.GetHostStatsAsync("node-a", CancellationToken.None)).Single(r => r.RunId == crashedRun);
        Assert.Equal(nextRun, crashed.Crash!.FoundBy);
        Assert.Equal(scanTime, crashed.Crash.At);
        // A second scan of the same restart (a resent request) finds nothing new: no second gap, no second crash.
        await restarted.Forwarder!.ReconcileAsync(ScanOf(scanTime, init, bash, sh), TestNodes.Patience);
        Assert.Single(await restarted.Queries.GapsAsync("node-a", DateTime.MinValue, DateTime.MaxValue, 100, CancellationToken.None));
    }

    [DatabaseFact]
    public async Task A_stopped_run_leaves_a_stopped_gap_and_ring_losses_it_reported_a_ring_loss_gap()
    {
        var (events, init, bash, sh, sleep) = _host.ShellChain(100);
        var started = DateTime.UtcNow.AddMinutes(-1);
        var upstream = new UpstreamCounts("node-a", "test", started,
            new SourceCounts(Produced: events.Count + 5, Bootstrapped: 0, Lost: 5, Discarded: 0, Malformed: 0, Delivered: events.Count),
            new PipelineCounts(Received: events.Count, Discarded: 0, Withheld: 0, GaveUpWaiting: 0, Waiting: 0, Published: events.Count, SinkFailures: 0));
        await using (var first = await TestNodes.StartAsync(TestNodes.Settings(_data)))
        {
            first.Forwarder!.ReportRun("node-a", () => upstream);
            await SendAsync(first, events);
            Assert.True(await first.Forwarder.ReportFinalAsync(TestNodes.Patience));
        }

        await using var second = await TestNodes.StartAsync(TestNodes.Settings(_data));
        var scanTime = DateTime.UtcNow;
        await second.Forwarder!.ReconcileAsync(ScanOf(scanTime, init, bash, sh, sleep), TestNodes.Patience);
        var gaps = await GapsEventuallyAsync(second, 2);

        Assert.Equal((HostGapReason.RingLoss, started, 5UL), (gaps[0].Reason, gaps[0].From, gaps[0].LostRecords));
        Assert.Equal((HostGapReason.CollectorStopped, gaps[0].RunId, scanTime), (gaps[1].Reason, gaps[1].RunId, gaps[1].To));
        Assert.DoesNotContain(await second.Queries!.GetHostStatsAsync("node-a", CancellationToken.None), r => r.Crash is not null);
    }

    private ReconcileHost ScanOf(DateTime scanTime, params ProcessSnapshot[] running)
    {
        var scan = new ReconcileHost { Host = "node-a", ScanTimeUnixTicks = WireConverter.ToUnixTicks(scanTime) };
        foreach (var process in running)
            scan.Scanned.Add(new ScannedProcess { Pid = process.Pid, ForkKtime = process.StartKtime, ForkTimeUnixTicks = WireConverter.ToUnixTicks(process.StartTime) });
        return scan;
    }

    private static async Task<IReadOnlyList<HostGap>> GapsEventuallyAsync(GatewayNode node, int count)
    {
        IReadOnlyList<HostGap> gaps = [];
        await TestNodes.EventuallyAsync(async () =>
        {
            gaps = await node.Queries!.GapsAsync("node-a", DateTime.MinValue, DateTime.MaxValue, 100, CancellationToken.None);
            return gaps.Count >= count;
        }, $"{count} gaps reach the history table");
        Assert.Equal(count, gaps.Count);
        return gaps;
    }

    private static UpstreamCounts UpstreamOf(int events) => new("node-a", "test", DateTime.UtcNow,
        new SourceCounts(Produced: events, Bootstrapped: 0, Lost: 0, Discarded: 0, Malformed: 0, Delivered: events),
        new PipelineCounts(Received: events, Discarded: 0, Withheld: 0, GaveUpWaiting: 0, Waiting: 0, Published: events, SinkFailures: 0));

    internal static async Task SendAsync(GatewayNode node, IEnumerable<EnrichedEvent> events)
    {
        foreach (var enriched in events) node.Forwarder!.OnEnriched(enriched);
        node.Forwarder!.OnBatchEnd();
        Assert.True(await node.Forwarder!.FlushAsync(TestNodes.Patience), "the gateway did not acknowledge every event");
    }

    private async Task<List<(int, string)>> StoredFormatsAsync(string sql)
    {
        await using var connection = await _data.Settings.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var formats = new List<(int, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) formats.Add((reader.GetInt32(0), reader.GetString(1)));
        return formats;
    }

    private static Task<LiveProcessList> TreeOf(GatewayNode node) =>
        node.HostTrees.Ask<LiveProcessList>(new ListLiveProcesses { Host = "node-a" }, TestNodes.Patience);

    private static List<TreeProcess> Sorted(LiveProcessList list) =>
        list.Processes.OrderBy(p => p.Process.StartKtime).ThenBy(p => p.Process.Pid).ToList();
}

public sealed class HostTreePersistenceOnSqliteTests() : HostTreePersistenceTests(new TestDatabase());

[Collection(PostgreSqlCollection.Name)]
public sealed class HostTreePersistenceOnPostgreSqlTests(PostgresServer server) : HostTreePersistenceTests(server.NewDatabase());
