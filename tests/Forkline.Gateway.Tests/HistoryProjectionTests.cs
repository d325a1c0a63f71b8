using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;

namespace Forkline.Gateway.Tests;

/// <summary>Runs on SQLite and on PostgreSQL: see the two subclasses at the end.</summary>
public abstract class HistoryProjectionTests(TestDatabase data) : IDisposable
{
    private readonly TestDatabase _data = data;
    private readonly SyntheticHost _host = new("node-p");

    public void Dispose() => _data.Dispose();

    [DatabaseFact]
    public async Task The_projection_resumes_from_its_stored_offset_and_applies_each_journal_event_once()
    {
        var (events, init, _, sh, sleep) = _host.ShellChain(10);
        events.Add(_host.Exit(sleep, sh));
        var store = new HistoryStore(_data.Settings);

        long offsetAfterFirstRun;
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data)))
        {
            await HostTreePersistenceTests.SendAsync(node, events);
            // The metric counts a group once its transaction committed: just after the row can be read.
            await TestNodes.EventuallyAsync(async () => await store.GetAsync(sleep.ExecId.Encode(), CancellationToken.None) is { ExitTime: not null }
                && node.MetricsExport.Value("forkline_projection_events_total") >= events.Count, "the exit of sleep reaches the processes table");
            Assert.Equal(events.Count, node.MetricsExport.Value("forkline_projection_events_total"));
            offsetAfterFirstRun = await store.ReadOffsetAsync(HistoryProjection.Name, CancellationToken.None);
        }
        Assert.True(offsetAfterFirstRun > 0);

        var later = _host.NewProcess(50, init, "/bin/later");
        await using (var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data)))
        {
            await HostTreePersistenceTests.SendAsync(restarted, [_host.Exec(later, init)]);
            await TestNodes.EventuallyAsync(async () => await store.GetAsync(later.ExecId.Encode(), CancellationToken.None) is not null
                && restarted.MetricsExport.Value("forkline_projection_events_total") >= 1, "the exec after the restart reaches the processes table");
            Assert.Equal(1, restarted.MetricsExport.Value("forkline_projection_events_total"));
            Assert.True(await store.ReadOffsetAsync(HistoryProjection.Name, CancellationToken.None) > offsetAfterFirstRun);
        }
    }

    [DatabaseFact]
    public async Task The_projection_applies_what_a_host_entity_of_its_node_journals_at_once_not_at_its_next_poll()
    {
        var (events, _, _, _, sleep) = _host.ShellChain(10);
        var store = new HistoryStore(_data.Settings);
        var poll = TimeSpan.FromMinutes(10);
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data) with { QueryRefreshInterval = poll });

        await HostTreePersistenceTests.SendAsync(node, events);

        await TestNodes.EventuallyAsync(async () => await store.GetAsync(sleep.ExecId.Encode(), CancellationToken.None) is not null
            && node.MetricsExport.Value("forkline_projection_events_total") >= events.Count, "the exec of sleep reaches the processes table long before the projection's next poll",
            within: TimeSpan.FromSeconds(60));
        Assert.Equal(events.Count, node.MetricsExport.Value("forkline_projection_events_total"));
    }

    [DatabaseFact]
    public async Task Replay_returns_exactly_the_persisted_exec_exit_and_clone_history_of_a_window_in_journal_order()
    {
        var (events, init, bash, sh, sleep) = _host.ShellChain(10);
        var forked = _host.NewProcess(40, bash, "/bin/bash");
        List<EnrichedEvent> persisted = [.. events, _host.Clone(forked, bash), _host.Exit(sleep, sh), _host.Exit(sh, bash)];
        var hook = _host.Hook(bash, init, bash.Pid);
        var store = new HistoryStore(_data.Settings);

        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await HostTreePersistenceTests.SendAsync(node, persisted.Take(3));
        await HostTreePersistenceTests.SendAsync(node, [hook, .. persisted.Skip(3)]);
        var replay = node.Queries!;

        // Straight after the writes (journal tail not indexed yet) and once the projection indexed it.
        var beforeIndex = await replay.ReplayAsync("node-p", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
        await TestNodes.EventuallyAsync(async () => await store.GetAsync(sh.ExecId.Encode(), CancellationToken.None) is { ExitTime: not null },
            "the projection indexes the journal");
        var afterIndex = await replay.ReplayAsync("node-p", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();

        var expected = persisted.Select(WireConverter.EventIdOf).ToList();
        Assert.Equal(expected, beforeIndex.Select(WireConverter.EventIdOf));
        Assert.Equal(expected, afterIndex.Select(WireConverter.EventIdOf));

        var window = await replay.ReplayAsync("node-p", persisted[1].Time, persisted[4].Time, CancellationToken.None).CollectAsync();
        Assert.Equal(expected[1..5], window.Select(WireConverter.EventIdOf));
        Assert.Empty(await replay.ReplayAsync("no-such-host", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync());
    }

    [DatabaseFact]
    public async Task Queries_answer_live_processes_from_the_entity_ended_ones_from_history_and_reject_bad_input()
    {
        var (events, init, bash, sh, sleep) = _host.ShellChain(10);
        events.Add(_host.Exit(sleep, sh));
        var store = new HistoryStore(_data.Settings);
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await HostTreePersistenceTests.SendAsync(node, events);
        await TestNodes.EventuallyAsync(async () => await store.GetAsync(sleep.ExecId.Encode(), CancellationToken.None) is { ExitTime: not null },
            "the exit of sleep reaches the processes table");
        var queries = node.Queries!;
        var ct = CancellationToken.None;

        Assert.True((await queries.GetProcessAsync(sh.ExecId.Encode(), ct))!.Live);
        var exited = await queries.GetProcessAsync(sleep.ExecId.Encode(), ct);
        Assert.Equal((false, 0), (exited!.Live, exited.ExitStatus));

        var lineage = await queries.GetLineageAsync(sleep.ExecId.Encode(), 3, ct);
        Assert.Equal([sh.ExecId.Encode(), bash.ExecId.Encode(), init.ExecId.Encode()], lineage!.Ancestors.Select(a => a.ExecId));
        var fromBash = await queries.GetLineageAsync(bash.ExecId.Encode(), 3, ct);
        Assert.Equal([sh.ExecId.Encode(), sleep.ExecId.Encode()], fromBash!.Descendants.Select(d => d.ExecId));

        var all = await queries.ListProcessesAsync(new("node-p"), ct);
        Assert.Equal(["/sbin/init", "/bin/bash", "/bin/sh", "/bin/sleep"], all.Select(p => p.Binary));
        Assert.Equal(["/bin/sleep"], (await queries.ListProcessesAsync(new("node-p", Live: false), ct)).Select(p => p.Binary));
        Assert.Equal(["/bin/bash", "/bin/sh"], (await queries.ListProcessesAsync(new("node-p", BinaryRegex: "sh$", Live: true), ct)).Select(p => p.Binary));

        Assert.Null(await queries.GetProcessAsync(new Contracts.Identity.ExecId("node-p", 1, 424242).Encode(), ct));
        Assert.Null(await queries.GetLineageAsync(new Contracts.Identity.ExecId("node-p", 1, 424242).Encode(), 1, ct));
        await Assert.ThrowsAsync<ArgumentException>(() => queries.GetProcessAsync("not-an-exec-id", ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queries.GetLineageAsync(sh.ExecId.Encode(), -1, ct));
        await Assert.ThrowsAsync<ArgumentException>(() => queries.ListProcessesAsync(new("node-p", BinaryRegex: "(unclosed"), ct));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await queries.ReplayAsync("node-p", DateTime.UtcNow, DateTime.UtcNow.AddHours(-1), ct).CollectAsync());
    }

    [DatabaseFact]
    public async Task Lineage_from_history_shows_running_ancestors_running_and_an_exec_d_image_replaced()
    {
        var (events, init, bash, sh, _) = _host.ShellChain(10);
        var shExecd = _host.NewProcess(sh.Pid, sh, "/usr/bin/make", "all");
        var job = _host.NewProcess(30, shExecd, "/bin/true");
        events.AddRange([_host.Exec(shExecd, sh), _host.Exec(job, shExecd), _host.Exit(job, shExecd, status: 2)]);
        var store = new HistoryStore(_data.Settings);
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await HostTreePersistenceTests.SendAsync(node, events);
        await TestNodes.EventuallyAsync(async () => await store.GetAsync(job.ExecId.Encode(), CancellationToken.None) is { ExitTime: not null },
            "the exit of true reaches the processes table");

        // true exited and has no descendants: the tree retired it, so its lineage comes from the history table.
        var lineage = await node.Queries!.GetLineageAsync(job.ExecId.Encode(), 1, CancellationToken.None);

        Assert.Equal((false, ProcessEndKind.Exited, 2), (lineage!.Process.Live, lineage.Process.End, lineage.Process.ExitStatus));
        Assert.Equal(
            [(shExecd.ExecId.Encode(), true, ProcessEndKind.None), (sh.ExecId.Encode(), false, ProcessEndKind.Replaced),
             (bash.ExecId.Encode(), true, ProcessEndKind.None), (init.ExecId.Encode(), true, ProcessEndKind.None)],
            lineage.Ancestors.Select(a => (a.ExecId, a.Live, a.End)));
        Assert.Equal(shExecd.StartTime, lineage.Ancestors[1].ExitTime);
    }

    [DatabaseFact]
    public async Task An_ended_containerized_process_keeps_its_container_pod_labels_workload_image_start_and_privilege_in_lineage_listing_and_replay()
    {
        const string podUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";
        var container = new Contracts.Identity.ContainerIdentity("3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a", podUid,
            new Contracts.Identity.KubernetesPod(podUid, "shop", "web-1", [new("app", "web"), new("tier", "front")], "web", "Deployment",
                new Contracts.Identity.KubernetesContainer("containerd://3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a", "server",
                    "registry.example/shop/server:1.4", "registry.example/shop/server@sha256:6c5b",
                    StartedAt: new DateTime(2025, 1, 31, 11, 58, 7, 250, DateTimeKind.Utc), Privileged: true)));
        var init = _host.NewProcess(1, null, "/sbin/init");
        var app = _host.NewProcess(20, init, "/app/server") with { Container = container };
        var worker = _host.NewProcess(21, app, "/app/worker") with { Container = container };
        worker = worker with { Details = worker.Details with { NamespacePid = 3 } };
        List<EnrichedEvent> events = [_host.Exec(init, null), _host.Exec(app, init), _host.Exec(worker, app), _host.Exit(worker, app), _host.Exit(app, init)];
        var store = new HistoryStore(_data.Settings);
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await HostTreePersistenceTests.SendAsync(node, events);
        await TestNodes.EventuallyAsync(async () => await store.GetAsync(app.ExecId.Encode(), CancellationToken.None) is { ExitTime: not null },
            "the exit of the containerized process reaches the processes table");
        var queries = node.Queries!;
        var ct = CancellationToken.None;

        var lineage = await queries.GetLineageAsync(worker.ExecId.Encode(), 1, ct);
        Assert.Equal((container, container, null), (lineage!.Process.Container, lineage.Ancestors[0].Container, lineage.Ancestors[1].Container));
        Assert.Equal((3, 0), (lineage.Process.NamespacePid, lineage.Ancestors[0].NamespacePid));
        var ended = await queries.ListProcessesAsync(new("node-p", Live: false, Container: container.ContainerId[..12]), ct);
        Assert.Equal([("/app/server", container), ("/app/worker", container)], ended.Select(p => (p.Binary, p.Container)));
        Assert.Equal(2, (await queries.ListProcessesAsync(new("node-p", PodUid: container.PodUid), ct)).Count);
        Assert.Equal(2, (await queries.ListProcessesAsync(new("node-p", Pod: "web-1", PodNamespace: "shop"), ct)).Count);
        Assert.Empty(await queries.ListProcessesAsync(new("node-p", Pod: "web-1", PodNamespace: "default"), ct));
        var replayed = await queries.ReplayAsync("node-p", DateTime.MinValue, DateTime.MaxValue, ct).CollectAsync();
        Assert.Equal([null, container, container, container, container], replayed.Select(e => e.Process.Container));
    }

    /// <summary>
    /// The tree retires an ended process as soon as its exit is stored; the history table gets the exit
    /// when the projection next polls the journal. A query in between reads the history for what the
    /// tree no longer holds, and must still show the exit, not a process neither running nor ended.
    /// </summary>
    [DatabaseFact]
    public async Task Queries_right_after_exits_are_stored_show_them_while_the_history_projection_lags()
    {
        var (events, _, bash, sh, sleep) = _host.ShellChain(10);
        var store = new HistoryStore(_data.Settings);
        var ct = CancellationToken.None;
        // The projection only polls the journal, every 2 s, so each query below runs before it applied the exits just stored.
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data) with
        {
            QueryRefreshInterval = TimeSpan.FromSeconds(2),
            Projection = new ProjectionSettings { ReadOnLocalWrites = false },
        });
        var queries = node.Queries!;
        await HostTreePersistenceTests.SendAsync(node, events);
        await StoredAsync(sleep);

        await HostTreePersistenceTests.SendAsync(node, [_host.Exit(sleep, sh), _host.Exit(sh, bash, status: 3)]);
        var lineage = await queries.GetLineageAsync(sleep.ExecId.Encode(), 0, ct);
        Assert.Equal((false, ProcessEndKind.Exited), (lineage!.Process.Live, lineage.Process.End));
        Assert.Equal((sh.ExecId.Encode(), false, ProcessEndKind.Exited, (int?)3), (lineage.Ancestors[0].ExecId, lineage.Ancestors[0].Live, lineage.Ancestors[0].End, lineage.Ancestors[0].ExitStatus));
        Assert.True(lineage.Ancestors[1].Live);

        var make = _host.NewProcess(40, bash, "/usr/bin/make");
        await HostTreePersistenceTests.SendAsync(node, [_host.Exec(make, bash)]);
        await StoredAsync(make);
        await HostTreePersistenceTests.SendAsync(node, [_host.Exit(make, bash, status: 2)]);
        var made = await queries.GetProcessAsync(make.ExecId.Encode(), ct);
        Assert.Equal((ProcessEndKind.Exited, (int?)2), (made!.End, made.ExitStatus));

        var cc = _host.NewProcess(41, bash, "/usr/bin/cc");
        await HostTreePersistenceTests.SendAsync(node, [_host.Exec(cc, bash)]);
        await StoredAsync(cc);
        await HostTreePersistenceTests.SendAsync(node, [_host.Exit(cc, bash, signal: 9)]);
        var ended = await queries.ListProcessesAsync(new("node-p", Live: false), ct);
        Assert.Equal(["/bin/sh", "/bin/sleep", "/usr/bin/make", "/usr/bin/cc"], ended.Select(p => p.Binary));
        Assert.All(ended, p => Assert.Equal(ProcessEndKind.Exited, p.End));

        Task StoredAsync(ProcessSnapshot process) => TestNodes.EventuallyAsync(
            async () => await store.GetAsync(process.ExecId.Encode(), ct) is not null, $"the exec of {process.Binary} reaches the processes table");
    }

    [DatabaseFact]
    public async Task Hook_events_are_streamed_live_but_not_persisted()
    {
        var (events, _, bash, sh, _) = _host.ShellChain(10);
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await using var everything = await node.Queries!.SubscribeAsync(new(), CancellationToken.None);
        await using var hooksOfSh = await node.Queries!.SubscribeAsync(
            new(Kinds: new HashSet<EnrichedKind> { EnrichedKind.Hook }, ExecId: sh.ExecId.Encode()), CancellationToken.None);

        var threadHook = _host.Hook(sh, bash, sh.Pid + 1);
        await HostTreePersistenceTests.SendAsync(node, [.. events, threadHook, _host.Hook(bash, null, bash.Pid)]);

        var streamed = await ReadAsync(everything, events.Count + 2);
        Assert.Equal([.. events.Select(WireConverter.EventIdOf), WireConverter.EventIdOf(threadHook)], streamed.Take(events.Count + 1).Select(WireConverter.EventIdOf));
        var onlyShHooks = await ReadAsync(hooksOfSh, 1);
        Assert.Equal(sh.Pid + 1, Assert.IsType<EnrichedHook>(onlyShHooks[0]).Thread!.Tid);

        var replayed = await node.Queries.ReplayAsync("node-p", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
        Assert.DoesNotContain(replayed, e => e.Kind == EnrichedKind.Hook);
        Assert.Equal(events.Count, replayed.Count);
    }

    private static async Task<List<EnrichedEvent>> ReadAsync(Queries.LiveSubscription subscription, int count)
    {
        using var timeout = new CancellationTokenSource(TestNodes.Patience);
        var read = new List<EnrichedEvent>();
        while (read.Count < count) read.Add(await subscription.Events.ReadAsync(timeout.Token));
        return read;
    }
}

public sealed class HistoryProjectionOnSqliteTests() : HistoryProjectionTests(new TestDatabase());

[Collection(PostgreSqlCollection.Name)]
public sealed class HistoryProjectionOnPostgreSqlTests(PostgresServer server) : HistoryProjectionTests(server.NewDatabase());
