using Forkline.Contracts.Snapshots;
using Forkline.Gateway.History;
using Forkline.Gateway.Hosting;
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

        var children = await _store.DescendantsAsync(init.ExecId.Encode(), 1, CancellationToken.None);
        Assert.Equal([("/bin/bash", 1)], children.Select(d => (d.Process.Binary, d.Depth)));
        var all = await _store.DescendantsAsync(init.ExecId.Encode(), 3, CancellationToken.None);
        Assert.Equal([("/bin/bash", 1), ("/bin/sh", 2), ("/bin/other", 2), ("/bin/sleep", 3)], all.Select(d => (d.Process.Binary, d.Depth)));
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
    public async Task A_newer_image_of_the_same_pid_ends_the_older_one()
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var before = _host.NewProcess(300, init, "/bin/sh");
        var after = _host.NewProcess(300, before, "/bin/sleep");
        await ProjectAsync(1, _host.Exec(init, null), _host.Exec(before, init), _host.Exec(after, before));

        var replaced = await _store.GetAsync(before.ExecId.Encode(), CancellationToken.None);
        Assert.Equal(after.StartTime, replaced!.ExitTime);
        Assert.Null(replaced.ExitStatus);
        Assert.Null((await _store.GetAsync(after.ExecId.Encode(), CancellationToken.None))!.ExitTime);
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

    private Task ProjectAsync(long sequenceNr, params EnrichedEvent[] events) =>
        _store.ProjectAsync("test", [new JournalBatch("node-h", sequenceNr, events)], sequenceNr, CancellationToken.None);

    private async Task<List<Queries.ProcessRecord>> ListAsync()
    {
        var rows = new List<Queries.ProcessRecord>();
        await foreach (var row in _store.ListAsync("node-h", null, null, null, CancellationToken.None)) rows.Add(row);
        return rows;
    }
}

public sealed class HistoryStoreOnSqliteTests() : HistoryStoreTests(new TestDatabase());

[Collection(PostgreSqlCollection.Name)]
public sealed class HistoryStoreOnPostgreSqlTests(PostgresServer server) : HistoryStoreTests(server.NewDatabase());
