using Akka.Actor;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Gateway.Tests;

public sealed class HostTreePersistenceTests : IDisposable
{
    private readonly TestDatabase _data = new();
    private readonly SyntheticHost _host = new("node-a");

    public void Dispose() => _data.Dispose();

    [Theory]
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

    [Fact]
    public async Task Journal_and_snapshot_rows_are_written_by_the_forkline_protobuf_serializer()
    {
        var (events, _, _, _, _) = _host.ShellChain(100);
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data, snapshotEvery: 2)))
            await SendAsync(node, events);

        Assert.Equal([(ForklineWireSerializer.SerializerId, "jh")], await StoredFormatsAsync("SELECT DISTINCT identifier, manifest FROM journal"));
        Assert.Equal([(ForklineWireSerializer.SerializerId, "js")], await StoredFormatsAsync("SELECT DISTINCT serializer_id, manifest FROM snapshot"));
    }

    [Fact]
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
        Assert.Equal(events.Count + 1, node.Metrics.GatewayEvents.WithLabels("exec", "accepted").Value + node.Metrics.GatewayEvents.WithLabels("exit", "accepted").Value
                                       + node.Metrics.GatewayEvents.WithLabels("hook", "accepted").Value);
    }

    [Fact]
    public async Task With_persist_hooks_on_hooks_are_journaled_and_still_recognised_as_duplicates_after_a_restart()
    {
        var (events, _, _, sh, _) = _host.ShellChain(100);
        var hook = _host.Hook(sh, null, sh.Pid + 1);
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data, persistHooks: true)))
            await SendAsync(node, [.. events, hook]);

        await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data, persistHooks: true));
        await SendAsync(restarted, [hook]);
        Assert.Equal(1, restarted.Metrics.GatewayEvents.WithLabels("hook", "duplicate").Value);
        var replayed = await restarted.Queries!.ReplayAsync("node-a", DateTime.MinValue, DateTime.MaxValue, CancellationToken.None).CollectAsync();
        Assert.Equal(events.Count, replayed.Count);
    }

    internal static async Task SendAsync(GatewayNode node, IEnumerable<EnrichedEvent> events)
    {
        foreach (var enriched in events) node.Forwarder!.OnEnriched(enriched);
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
