using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.History;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;

namespace Forkline.Gateway.Tests;

/// <summary>Runs on SQLite and on PostgreSQL: see the two subclasses at the end.</summary>
public abstract class HistoryStoreTests(TestDatabase data) : IAsyncLifetime
{
    private readonly TestDatabase _data = data;
    private readonly SyntheticHost _host = new("node-h");
    private HistoryStore _store = null!;

    public async Task InitializeAsync()
    {
        var database = _data.Settings;
        await database.PrepareAsync(CancellationToken.None);
        _store = new HistoryStore(database);
        await _store.EnsureSchemaAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _data.Dispose();
        return Task.CompletedTask;
    }

    [DatabaseFact]
    public async Task Recursive_lineage_over_three_generations_gives_ancestors_to_init_and_descendants_by_depth()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var bash = _host.NewProcess(100, init, "/bin/bash");
        var sh = _host.NewProcess(101, bash, "/bin/sh");
        var other = _host.NewProcess(102, bash, "/bin/other");
        var sleep = _host.NewProcess(103, sh, "/bin/sleep");
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(bash, init), _host.Exec(sh, bash), _host.Exec(other, bash), _host.Exec(sleep, sh));

        var chain = await _store.ChainFromAsync(sleep.ExecId.Encode(), CancellationToken.None);
        Assert.Equal(["/bin/sleep", "/bin/sh", "/bin/bash", "/sbin/init"], chain.Select(p => p.Binary));

        var children = await _store.DescendantsAsync(init.ExecId.Encode(), 1, 10, CancellationToken.None);
        Assert.Equal([("/bin/bash", 1)], children.Select(d => (d.Process.Binary, d.Depth)));
        var all = await _store.DescendantsAsync(init.ExecId.Encode(), 3, 10, CancellationToken.None);
        Assert.Equal([("/bin/bash", 1), ("/bin/sh", 2), ("/bin/other", 2), ("/bin/sleep", 3)], all.Select(d => (d.Process.Binary, d.Depth)));

        // Bounded: the walk stops at the limit, generation by generation, so the deepest are the ones cut.
        var two = await _store.DescendantsAsync(init.ExecId.Encode(), 3, 2, CancellationToken.None);
        Assert.Equal([1, 2], two.Select(d => d.Depth));
        Assert.Equal("/bin/bash", two[0].Process.Binary);
        var three = await _store.DescendantsAsync(init.ExecId.Encode(), 3, 3, CancellationToken.None);
        Assert.Equal([("/bin/bash", 1), ("/bin/sh", 2), ("/bin/other", 2)], three.Select(d => (d.Process.Binary, d.Depth)));
    }

    [DatabaseFact]
    public async Task Projecting_the_same_entries_again_leaves_one_row_per_process_with_its_exit()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var job = _host.NewProcess(200, init, "/bin/job", "--fast");
        var exit = _host.Exit(job, init, status: 3);
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(job, init));
        await ProjectAsync(2, exit);
        await ProjectAsync(2, exit);
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(job, init));

        var rows = await ListAsync();
        Assert.Equal(2, rows.Count);
        var stored = await _store.GetAsync(job.ExecId.Encode(), CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal((3, 0, exit.Time, "--fast", init.ExecId.Encode()), (stored.ExitStatus, stored.ExitSignal, stored.ExitTime, stored.Arguments, stored.ParentExecId));
        Assert.False(stored.Live);
    }

    [DatabaseFact]
    public async Task The_exit_of_a_process_never_known_is_stored_without_a_uid_until_its_exec_brings_one()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var job = _host.NewProcess(210, init, "/bin/job");
        var standIn = job with
        {
            ParentExecId = default, Binary = "", Arguments = [], Credentials = default,
            Flags = ProcessFlags.Incomplete | ProcessFlags.AuidUnknown | ProcessFlags.CredentialsUnknown
                | ProcessFlags.CapabilitiesUnknown | ProcessFlags.NamespacesUnknown,
        };
        await ProjectAsync(1, _host.Exec(init, null), _host.Exit(standIn, parent: null));

        var stored = await _store.GetAsync(job.ExecId.Encode(), CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Null(stored.Uid);
        Assert.Equal(1000u, (await _store.GetAsync(init.ExecId.Encode(), CancellationToken.None))!.Uid);

        await ProjectAsync(2, _host.Exec(job, init));

        Assert.Equal(1000u, (await _store.GetAsync(job.ExecId.Encode(), CancellationToken.None))!.Uid);
    }

    [DatabaseFact]
    public async Task A_newer_image_of_the_same_pid_ends_the_older_one()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var before = _host.NewProcess(300, init, "/bin/sh");
        var after = _host.NewProcess(300, before, "/bin/sleep");
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(before, init), _host.Exec(after, before));

        var replaced = await _store.GetAsync(before.ExecId.Encode(), CancellationToken.None);
        Assert.Equal((after.StartTime, ProcessEndKind.Replaced), (replaced!.ExitTime, replaced.End));
        Assert.Null(replaced.ExitStatus);
        var current = await _store.GetAsync(after.ExecId.Encode(), CancellationToken.None);
        Assert.Equal((null, ProcessEndKind.None), (current!.ExitTime, current.End));
    }

    [DatabaseFact]
    public async Task Each_end_is_stored_as_what_it_was_exited_replaced_or_concluded_with_its_gap_bounds()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var exited = _host.NewProcess(600, init, "/bin/true");
        var shell = _host.NewProcess(601, init, "/bin/sh");
        var execd = _host.NewProcess(601, shell, "/bin/sleep");
        var unseen = _host.NewProcess(602, init, "/bin/sleep");
        var lost = _host.NewProcess(603, init, "/bin/sleep");
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(exited, init), _host.Exec(shell, init), _host.Exec(execd, shell),
            _host.Exec(unseen, init), _host.Exec(lost, init));
        var lastSeen = _host.TimeOf(_host.Tick());
        var restart = Concluded(unseen, init, ExitConclusion.Restart, lastSeen);
        var swallowed = Concluded(lost, init, ExitConclusion.Lost, lastSeen);
        await ProjectAsync(2, _host.Exit(exited, init, status: 1), restart, swallowed);

        async Task<ProcessRecord> Stored(ProcessSnapshot process) => (await _store.GetAsync(process.ExecId.Encode(), CancellationToken.None))!;
        Assert.Equal((ProcessEndKind.Exited, 1, null), ((await Stored(exited)).End, (await Stored(exited)).ExitStatus, (await Stored(exited)).EndedAfter));
        Assert.Equal((ProcessEndKind.Replaced, execd.StartTime), ((await Stored(shell)).End, (await Stored(shell)).ExitTime));
        Assert.Equal((ProcessEndKind.None, null), ((await Stored(execd)).End, (await Stored(execd)).ExitTime));
        var concluded = await Stored(unseen);
        Assert.Equal((ProcessEndKind.ConcludedAtRestart, lastSeen, restart.Time, null), (concluded.End, concluded.EndedAfter, concluded.ExitTime, concluded.ExitStatus));
        Assert.Equal((ProcessEndKind.ConcludedLost, lastSeen), ((await Stored(lost)).End, (await Stored(lost)).EndedAfter));
        var chain = await _store.ChainFromAsync(execd.ExecId.Encode(), CancellationToken.None);
        Assert.Equal([ProcessEndKind.None, ProcessEndKind.Replaced, ProcessEndKind.None], chain.Select(p => p.End));
    }

    [DatabaseFact]
    public async Task A_clone_stored_after_the_exec_that_replaced_it_ends_as_replaced()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var forked = _host.NewProcess(700, init, "/bin/sh");
        var execd = _host.NewProcess(700, init, "/bin/true");
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(execd, init));
        await ProjectAsync(2, _host.Clone(forked, init));

        var late = await _store.GetAsync(forked.ExecId.Encode(), CancellationToken.None);
        Assert.Equal((ProcessEndKind.Replaced, execd.StartTime), (late!.End, late.ExitTime));
        Assert.Null((await _store.GetAsync(execd.ExecId.Encode(), CancellationToken.None))!.ExitTime);
    }

    [DatabaseFact]
    public async Task A_clone_whose_exec_never_came_ends_as_replaced_by_the_exit_of_the_image_that_replaced_it()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var forked = _host.NewProcess(710, init, "/bin/sh");
        var execd = _host.NewProcess(710, forked, "/bin/true");
        var earlier = _host.NewProcess(711, init, "/bin/sh");
        var running = _host.NewProcess(711, earlier, "/bin/sleep");
        await ProjectAsync(1, _host.Exec(init, null), _host.Clone(forked, init), _host.Exec(running, earlier));
        // The exec of /bin/true never came, its exit did; so did a late exit of the image the running sleep replaced.
        await ProjectAsync(2, _host.Exit(execd, forked, status: 0), _host.Exit(earlier, init));

        var clone = (await _store.GetAsync(forked.ExecId.Encode(), CancellationToken.None))!;
        Assert.Equal((ProcessEndKind.Replaced, execd.StartTime), (clone.End, clone.ExitTime));
        var exited = (await _store.GetAsync(execd.ExecId.Encode(), CancellationToken.None))!;
        Assert.Equal((ProcessEndKind.Exited, 0), (exited.End, exited.ExitStatus));
        // An older image's exit ends nothing newer.
        var stillRunning = (await _store.GetAsync(running.ExecId.Encode(), CancellationToken.None))!;
        Assert.Equal((ProcessEndKind.None, null), (stillRunning.End, stillRunning.ExitTime));
    }

    private EnrichedExit Concluded(ProcessSnapshot process, ProcessSnapshot parent, ExitConclusion reason, DateTime endedAfter)
    {
        var at = _host.Tick();
        var exit = new ProcessExit(0, 0, 0, _host.TimeOf(at), process.Pid, reason, endedAfter);
        return new EnrichedExit(_host.Node, _host.TimeOf(at), 0, process with { Exit = exit }, parent, null);
    }

    [DatabaseFact]
    public async Task The_journal_index_narrows_a_replay_window_to_the_entries_that_can_hold_it()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var early = _host.Exec(_host.NewProcess(2, init, "/bin/early"), init);
        var middle = _host.Exec(_host.NewProcess(3, init, "/bin/middle"), init);
        var late = _host.Exec(_host.NewProcess(4, init, "/bin/late"), init);
        await ProjectAsync(1, _host.Exec(init, null), early);
        await ProjectAsync(2, middle);
        await ProjectAsync(3, late);

        var ranges = await _store.JournalRangesAsync("node-h", middle.Time, middle.Time, CancellationToken.None);
        Assert.Equal([(2L, 2L), (4L, long.MaxValue)], ranges);
        var none = await _store.JournalRangesAsync("node-h", late.Time.AddDays(1), late.Time.AddDays(2), CancellationToken.None);
        Assert.Equal([(4L, long.MaxValue)], none);
    }

    [DatabaseFact]
    public async Task Container_identity_is_stored_returned_by_every_history_query_and_filters_the_listing()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var shim = _host.NewProcess(500, init, "/usr/bin/containerd-shim-runc-v2");
        var app = _host.NewProcess(501, shim, "/app/server") with { Container = new ContainerIdentity(ContainerId, PodUid, Pod) };
        var plain = _host.NewProcess(502, init, "/bin/cron") with { Container = new ContainerIdentity(OtherContainerId, null) };
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(shim, init), _host.Exec(app, shim), _host.Exec(plain, init));
        await ProjectAsync(2, _host.Exit(app, shim, status: 1));

        // The history keeps all the API server told: the pod's labels and workload, the container's name and image.
        var expected = new ContainerIdentity(ContainerId, PodUid, Pod);
        Assert.Equal(expected, (await _store.GetAsync(app.ExecId.Encode(), CancellationToken.None))!.Container);
        Assert.Null((await _store.GetAsync(shim.ExecId.Encode(), CancellationToken.None))!.Container);
        var chain = await _store.ChainFromAsync(app.ExecId.Encode(), CancellationToken.None);
        Assert.Equal([expected, null, null], chain.Select(p => p.Container));
        var below = await _store.DescendantsAsync(shim.ExecId.Encode(), 1, 10, CancellationToken.None);
        Assert.Equal([expected], below.Select(d => d.Process.Container));

        Assert.Equal(["/app/server"], (await ListAsync(container: ContainerId[..12].ToUpperInvariant())).Select(p => p.Binary));
        Assert.Equal(["/app/server"], (await ListAsync(container: ContainerId)).Select(p => p.Binary));
        Assert.Equal(["/bin/cron"], (await ListAsync(container: OtherContainerId[..5])).Select(p => p.Binary));
        Assert.Equal(["/app/server"], (await ListAsync(podUid: PodUid)).Select(p => p.Binary));
        Assert.Empty(await ListAsync(container: ContainerId, podUid: "00000000-0000-0000-0000-000000000000"));
        Assert.Equal(["/app/server"], (await ListAsync(podName: "web-1")).Select(p => p.Binary));
        Assert.Equal(["/app/server"], (await ListAsync(podName: "web-1", podNamespace: "shop")).Select(p => p.Binary));
        Assert.Empty(await ListAsync(podName: "web-1", podNamespace: "default"));
    }

    [DatabaseFact]
    public async Task A_later_event_without_a_container_keeps_the_stored_one_and_one_with_a_container_fills_it_in()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var contained = _host.NewProcess(600, init, "/app/worker") with { Container = new ContainerIdentity(ContainerId, PodUid, Pod) };
        var late = _host.NewProcess(601, init, "/app/late");
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(contained, init), _host.Exec(late, init));
        // Events of the same processes that carry the other way round: none where the row has one, one where it has none.
        await ProjectAsync(2, _host.Exit(contained with { Container = null }, init, status: 3),
            _host.Exit(late with { Container = new ContainerIdentity(OtherContainerId, null) }, init, status: 4));

        var kept = (await _store.GetAsync(contained.ExecId.Encode(), CancellationToken.None))!;
        Assert.Equal(new ContainerIdentity(ContainerId, PodUid, Pod), kept.Container);
        Assert.Equal(3, kept.ExitStatus);
        var filled = (await _store.GetAsync(late.ExecId.Encode(), CancellationToken.None))!;
        Assert.Equal(new ContainerIdentity(OtherContainerId, null), filled.Container);
        Assert.Equal(4, filled.ExitStatus);
    }

    [DatabaseFact]
    public async Task A_processes_table_made_before_container_identity_gains_its_columns_and_keeps_its_rows()
    {
        await using (var connection = await _data.Settings.OpenAsync(CancellationToken.None))
        await using (var command = connection.CreateCommand())
        {
            // The table as the first release created it, holding one process.
            command.CommandText = """
                DROP TABLE processes;
                CREATE TABLE processes (
                    exec_id TEXT NOT NULL PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, parent_exec_id TEXT NULL,
                    binary_path TEXT NOT NULL, args TEXT NOT NULL, cwd TEXT NOT NULL, uid BIGINT NOT NULL, start_time BIGINT NOT NULL,
                    exit_time BIGINT NULL, exit_code INTEGER NULL, signal INTEGER NULL);
                INSERT INTO processes VALUES ('old-exec-id', 'node-h', 7, NULL, '/bin/old', '', '/', 0, 1, NULL, NULL, NULL);
                """;
            await command.ExecuteNonQueryAsync();
        }

        await _store.EnsureSchemaAsync(CancellationToken.None);
        await _store.EnsureSchemaAsync(CancellationToken.None);

        var old = await _store.GetAsync("old-exec-id", CancellationToken.None);
        Assert.Equal(("/bin/old", null), (old!.Binary, old.Container));
        var app = _host.NewProcess(501, null, "/app/server") with { Container = new ContainerIdentity(ContainerId, PodUid) };
        await ProjectAsync(1, _host.Exec(app, null));
        Assert.Equal(new ContainerIdentity(ContainerId, PodUid), (await _store.GetAsync(app.ExecId.Encode(), CancellationToken.None))!.Container);
    }

    [DatabaseFact]
    public async Task A_table_made_before_pod_labels_were_stored_gains_their_columns_and_reads_its_pods_without_them()
    {
        await using (var connection = await _data.Settings.OpenAsync(CancellationToken.None))
        await using (var command = connection.CreateCommand())
        {
            // The table as the release before pod labels created it, holding one process of a described pod.
            command.CommandText = $"""
                DROP TABLE processes;
                CREATE TABLE processes (
                    exec_id TEXT NOT NULL PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, parent_exec_id TEXT NULL,
                    binary_path TEXT NOT NULL, args TEXT NOT NULL, cwd TEXT NOT NULL, uid BIGINT NOT NULL, start_time BIGINT NOT NULL,
                    exit_time BIGINT NULL, exit_code INTEGER NULL, signal INTEGER NULL, container_id TEXT NULL, pod_uid TEXT NULL,
                    pod_namespace TEXT NULL, pod_name TEXT NULL, end_kind INTEGER NULL, ended_after BIGINT NULL);
                INSERT INTO processes VALUES ('old-exec-id', 'node-h', 7, NULL, '/app/old', '', '/', 0, 1, 2, 0, 0,
                    '{ContainerId}', '{PodUid}', 'shop', 'web-0', 1, NULL);
                """;
            await command.ExecuteNonQueryAsync();
        }

        await _store.EnsureSchemaAsync(CancellationToken.None);
        await _store.EnsureSchemaAsync(CancellationToken.None);

        var old = await _store.GetAsync("old-exec-id", CancellationToken.None);
        Assert.Equal(new ContainerIdentity(ContainerId, PodUid, new KubernetesPod(PodUid, "shop", "web-0", [], "", "")), old!.Container);
        var app = _host.NewProcess(501, null, "/app/server") with { Container = new ContainerIdentity(ContainerId, PodUid, Pod) };
        await ProjectAsync(1, _host.Exec(app, null));
        Assert.Equal(new ContainerIdentity(ContainerId, PodUid, Pod), (await _store.GetAsync(app.ExecId.Encode(), CancellationToken.None))!.Container);
    }

    [DatabaseFact]
    public async Task A_table_made_before_container_start_time_privilege_pod_annotations_and_namespace_pid_were_stored_gains_their_columns()
    {
        await using (var connection = await _data.Settings.OpenAsync(CancellationToken.None))
        await using (var command = connection.CreateCommand())
        {
            // The table as the release with pod labels created it, holding one process of a named container.
            const string labels = "{\"app\":\"web\"}";
            command.CommandText = $"""
                DROP TABLE processes;
                CREATE TABLE processes (
                    exec_id TEXT NOT NULL PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, parent_exec_id TEXT NULL,
                    binary_path TEXT NOT NULL, args TEXT NOT NULL, cwd TEXT NOT NULL, uid BIGINT NOT NULL, start_time BIGINT NOT NULL,
                    exit_time BIGINT NULL, exit_code INTEGER NULL, signal INTEGER NULL, container_id TEXT NULL, pod_uid TEXT NULL,
                    pod_namespace TEXT NULL, pod_name TEXT NULL, end_kind INTEGER NULL, ended_after BIGINT NULL,
                    pod_labels TEXT NULL, pod_workload TEXT NULL, pod_workload_kind TEXT NULL, pod_container_id TEXT NULL,
                    pod_container_name TEXT NULL, pod_container_image TEXT NULL, pod_container_image_id TEXT NULL);
                INSERT INTO processes VALUES ('old-exec-id', 'node-h', 7, NULL, '/app/old', '', '/', 0, 1, 2, 0, 0,
                    '{ContainerId}', '{PodUid}', 'shop', 'web-1', 1, NULL, '{labels}', 'web', 'Deployment',
                    'containerd://{ContainerId}', 'web', 'nginx:1.27', 'nginx@sha256:6c5b');
                """;
            await command.ExecuteNonQueryAsync();
        }

        await _store.EnsureSchemaAsync(CancellationToken.None);
        await _store.EnsureSchemaAsync(CancellationToken.None);

        var old = (await _store.GetAsync("old-exec-id", CancellationToken.None))!;
        Assert.Equal((new ContainerIdentity(ContainerId, PodUid, Pod), false, 0), (old.Container, old.MaybeExecProbe, old.NamespacePid));
        var startedAt = new DateTime(2025, 1, 31, 11, 58, 7, DateTimeKind.Utc);
        var privileged = Pod with { Container = Pod.Container! with { StartedAt = startedAt, Privileged = true }, Annotations = [new("prometheus.io/scrape", "true")] };
        var app = _host.NewProcess(501, null, "/app/server") with { Container = new ContainerIdentity(ContainerId, PodUid, privileged) };
        await ProjectAsync(1, _host.Exec(app, null));
        Assert.Equal(new ContainerIdentity(ContainerId, PodUid, privileged), (await _store.GetAsync(app.ExecId.Encode(), CancellationToken.None))!.Container);
    }

    [DatabaseFact]
    public async Task A_containers_start_time_and_privilege_and_each_processs_exec_probe_flag_and_namespace_pid_are_returned_by_every_history_query()
    {
        // Ticks that are not whole milliseconds: the column keeps the time to the tick.
        var startedAt = new DateTime(2025, 1, 31, 11, 58, 7, DateTimeKind.Utc).AddTicks(1_234_567);
        var probed = Pod with { Container = Pod.Container! with { StartedAt = startedAt, Privileged = true, ExecProbes = [["cat", "/tmp/healthy"]] } };
        var container = new ContainerIdentity(ContainerId, PodUid, probed);
        var init = _host.NewProcess(1, null, "/sbin/init");
        var app = _host.NewProcess(501, init, "/app/server") with { Container = container };
        var probe = _host.NewProcess(502, app, "/bin/cat", "/tmp/healthy") with { Container = container };
        probe = probe with { Details = probe.Details with { NamespacePid = 7 } };
        var notProbe = _host.NewProcess(503, app, "/bin/cat", "/tmp/other") with { Container = container };
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(app, init), _host.Exec(probe, app), _host.Exec(notProbe, app));
        await ProjectAsync(2, _host.Exit(probe, app));

        // The row keeps what the probes decided, not the probes.
        var stored = new ContainerIdentity(ContainerId, PodUid, probed with { Container = probed.Container! with { ExecProbes = [] } });
        var read = (await _store.GetAsync(probe.ExecId.Encode(), CancellationToken.None))!;
        Assert.Equal((stored, true, 7), (read.Container, read.MaybeExecProbe, read.NamespacePid));
        Assert.Equal((startedAt, true), (read.Container!.Pod!.Container!.StartedAt, read.Container.Pod.Container.Privileged));
        Assert.Equal([true, false, false], (await _store.ChainFromAsync(probe.ExecId.Encode(), CancellationToken.None)).Select(p => p.MaybeExecProbe));
        var below = await _store.DescendantsAsync(app.ExecId.Encode(), 1, 10, CancellationToken.None);
        Assert.Equal([("/tmp/healthy", true, stored), ("/tmp/other", false, stored)],
            below.Select(d => (d.Process.Arguments, d.Process.MaybeExecProbe, d.Process.Container)));
        var listed = await ListAsync(container: ContainerId);
        Assert.Equal([(503, false, 0), (502, true, 7), (501, false, 0)], listed.Select(p => (p.Pid, p.MaybeExecProbe, p.NamespacePid)));
        Assert.All(listed, p => Assert.Equal((startedAt, true), (p.Container!.Pod!.Container!.StartedAt, p.Container.Pod.Container.Privileged)));

        // Not privileged and not started yet read back so, not as unknown-turned-true.
        var plain = _host.NewProcess(504, init, "/bin/cat", "/tmp/healthy") with
        {
            Container = new ContainerIdentity(ContainerId, PodUid, Pod with { Container = Pod.Container! with { ExecProbes = [["cat", "/tmp/other"]] } }),
        };
        await ProjectAsync(3, _host.Exec(plain, init));
        var plainRead = (await _store.GetAsync(plain.ExecId.Encode(), CancellationToken.None))!;
        Assert.Equal((null, false, false), (plainRead.Container!.Pod!.Container!.StartedAt, plainRead.Container.Pod.Container.Privileged, plainRead.MaybeExecProbe));
    }

    [DatabaseFact]
    public async Task Pod_labels_annotations_and_names_with_quotes_backslashes_and_control_characters_read_back_unchanged()
    {
        var hostile = new KubernetesPod(PodUid, "shop", "web-1",
            [new("a\"b", "c\\d"), new("e\u001b[31m", "line\nbreak"), new("é", "{\"x\":1}")], "web'; DROP TABLE processes; --", "Deployment",
            new KubernetesContainer("containerd://" + ContainerId, "name\u0007", "image\u202e", "id"),
            [new("a\"b", "c\\d\u0000"), new("owner\u202e", "'); DROP TABLE processes; --"), new("日本", "{\"x\":[1]}\r\n")]);
        var app = _host.NewProcess(501, null, "/app/server") with { Container = new ContainerIdentity(ContainerId, PodUid, hostile) };
        await ProjectAsync(1, _host.Exec(app, null));

        Assert.Equal(new ContainerIdentity(ContainerId, PodUid, hostile), (await _store.GetAsync(app.ExecId.Encode(), CancellationToken.None))!.Container);
    }

    private const string ContainerId = "3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a";
    private const string OtherContainerId = "aa1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a";
    /// <summary>
    /// The projection writes a process's start and its exit that follow each other in one journal entry as one merged row:
    /// random histories (a few pids, so images replace each other, clones published late, exits with and without the
    /// container or the uid their start had, concluded exits, events out of order) leave the same rows projected in one
    /// entry as projected one event per entry, after the same earlier entries.
    /// </summary>
    [DatabaseTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public async Task One_entry_of_events_leaves_the_rows_its_events_leave_one_entry_each(int seed)
    {
        var oneByOne = new SyntheticHost("node-a");
        var together = new SyntheticHost("node-b");
        var (earlier, later) = RandomHistory(oneByOne, new Random(seed));
        var (earlierToo, laterToo) = RandomHistory(together, new Random(seed));
        var sequenceNr = 0L;
        foreach (var enriched in earlier.Concat(later))
            await _store.ProjectAsync("test", [new JournalBatch(oneByOne.Node, ++sequenceNr, [enriched])], sequenceNr, CancellationToken.None);
        foreach (var enriched in earlierToo)
            await _store.ProjectAsync("test", [new JournalBatch(together.Node, ++sequenceNr, [enriched])], sequenceNr, CancellationToken.None);
        await _store.ProjectAsync("test", [new JournalBatch(together.Node, ++sequenceNr, laterToo)], sequenceNr, CancellationToken.None);

        Assert.True(StartsFollowedByTheirExit(laterToo) > 0, "the entry holds a start followed by its own exit, which the projection merges");
        var expected = await RowsAsync(oneByOne.Node);
        Assert.NotEmpty(expected);
        var actual = await RowsAsync(together.Node);
        Assert.Equal(expected.Count, actual.Count);
        // Row by row: a failure shows the whole row.
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i]);
    }

    /// <summary>Events of a few pids on <paramref name="host"/>: the same for the same seed.</summary>
    private static (List<EnrichedEvent> Earlier, List<EnrichedEvent> Later) RandomHistory(SyntheticHost host, Random random)
    {
        var init = host.NewProcess(1, null, "/sbin/init");
        var events = new List<EnrichedEvent> { host.Exec(init, null) };
        var live = new Dictionary<int, ProcessSnapshot>();
        for (var step = 0; step < 60; step++)
        {
            var pid = 100 + random.Next(4);
            if (live.TryGetValue(pid, out var running) && random.Next(3) > 0)
            {
                var exited = random.Next(6) switch
                {
                    0 => running with { Container = null },
                    1 => running with { Container = new ContainerIdentity(OtherContainerId, null) },
                    2 => running with { Flags = running.Flags | ProcessFlags.CredentialsUnknown },
                    _ => running,
                };
                var exit = host.Exit(exited, init, status: random.Next(3), signal: random.Next(4) == 0 ? 9 : 0);
                if (random.Next(8) == 0)
                    exit = exit with { Process = exit.Process with { Exit = exit.Process.Exit! with { Conclusion = ExitConclusion.Lost, EndedAfter = exit.Time.AddSeconds(-1) } } };
                events.Add(exit);
                live.Remove(pid);
                continue;
            }
            var started = host.NewProcess(pid, init, random.Next(2) == 0 ? "/bin/sh" : "/usr/bin/make", "-j", random.Next(9).ToString(System.Globalization.CultureInfo.InvariantCulture));
            started = random.Next(4) switch
            {
                0 => started with { Container = new ContainerIdentity(ContainerId, PodUid, Pod) },
                1 => started with { Flags = started.Flags | ProcessFlags.CredentialsUnknown },
                _ => started,
            };
            // A fork (clone) or an exec; an exec on a running pid replaces its image.
            events.Add(random.Next(3) == 0 ? host.Clone(started, init) : host.Exec(started, init));
            live[pid] = started;
        }
        // Out of order as journal entries may come: a few neighbours swapped (an exit before its start, a late clone).
        for (var swaps = random.Next(6); swaps > 0; swaps--)
        {
            var at = 1 + random.Next(events.Count - 2);
            (events[at], events[at + 1]) = (events[at + 1], events[at]);
        }
        var split = 1 + random.Next(events.Count / 2);
        return (events[..split], events[split..]);
    }

    private static int StartsFollowedByTheirExit(List<EnrichedEvent> events)
    {
        var merged = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].Kind is not (EnrichedKind.Exec or EnrichedKind.Clone)) continue;
            var next = events.Skip(i + 1).FirstOrDefault(e => e.Kind != EnrichedKind.Hook && e.Process.Pid == events[i].Process.Pid);
            if (next is { Kind: EnrichedKind.Exit } && next.Process.ExecId == events[i].Process.ExecId) merged++;
        }
        return merged;
    }

    /// <summary>Every column of a host's rows, its name made neutral so two hosts' rows compare.</summary>
    private async Task<List<string>> RowsAsync(string node)
    {
        await using var connection = await _data.Settings.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM processes WHERE host = @host ORDER BY start_time, pid";
        var host = command.CreateParameter();
        host.ParameterName = "@host";
        host.Value = node;
        command.Parameters.Add(host);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var columns = new string[reader.FieldCount];
            for (var i = 0; i < reader.FieldCount; i++)
            {
                var value = Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture) ?? "";
                // Exec ids carry the node name inside their encoding.
                if (reader.GetName(i) is "exec_id" or "parent_exec_id" && value.Length > 0) value = ExecId.Decode(value) is var id ? $"{id.Node}:{id.StartKtime}:{id.Pid}" : value;
                columns[i] = $"{reader.GetName(i)}={value}";
            }
            rows.Add(string.Join(" ", columns).Replace(node, "node", StringComparison.Ordinal));
        }
        return rows;
    }

    private const string PodUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";

    private static readonly KubernetesPod Pod = new(PodUid, "shop", "web-1", [new("app", "web")], "web", "Deployment",
        new KubernetesContainer("containerd://" + ContainerId, "web", "nginx:1.27", "nginx@sha256:6c5b"));

    private Task ProjectAsync(long sequenceNr, params EnrichedEvent[] events) =>
        _store.ProjectAsync("test", [new JournalBatch("node-h", sequenceNr, events)], sequenceNr, CancellationToken.None);

    private async Task<List<ProcessRecord>> ListAsync(string? container = null, string? podUid = null, string? podName = null, string? podNamespace = null)
    {
        var rows = new List<ProcessRecord>();
        await foreach (var row in _store.ListAsync("node-h", null, null, null, CancellationToken.None, container, podUid, podName, podNamespace)) rows.Add(row);
        return rows;
    }
}

public sealed class HistoryStoreOnSqliteTests() : HistoryStoreTests(new TestDatabase());

[Collection(PostgreSqlCollection.Name)]
public sealed class HistoryStoreOnPostgreSqlTests(PostgresServer server) : HistoryStoreTests(server.NewDatabase());
