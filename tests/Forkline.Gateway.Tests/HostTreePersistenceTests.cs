using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Gateway.Tests;

public sealed class HostTreePersistenceTests : IDisposable
{
    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task Exec_and_exit_are_persisted_and_a_restarted_node_recovers_the_identical_tree()
    {
        var host = new SyntheticHost("node-a");
        var (events, init, bash, sh, sleep) = host.ShellChain(100);
        events.Add(host.Exit(sleep, sh));
        var worker = host.NewProcess(200, init, "/usr/bin/worker");
        events.Add(host.Exec(worker, init));

        IReadOnlyList<ProcessRecord> before;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data.Path)))
        {
            Console.WriteLine($"TIMING up {sw.ElapsedMilliseconds}");
            await SendAsync(node, events);
            Console.WriteLine($"TIMING sent {sw.ElapsedMilliseconds}");
            before = await node.Queries!.ListProcessesAsync(new ProcessListQuery("node-a", Live: true), CancellationToken.None);
            Console.WriteLine($"TIMING listed {sw.ElapsedMilliseconds}");
        }
        Console.WriteLine($"TIMING down {sw.ElapsedMilliseconds}");

        Assert.Equal([init.ExecId.Encode(), bash.ExecId.Encode(), sh.ExecId.Encode(), worker.ExecId.Encode()], before.Select(p => p.ExecId));

        await using (var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data.Path)))
        {
            var after = await restarted.Queries!.ListProcessesAsync(new ProcessListQuery("node-a", Live: true), CancellationToken.None);
            Assert.Equal(before, after);
        }
    }

    private static async Task SendAsync(GatewayNode node, IEnumerable<EnrichedEvent> events)
    {
        foreach (var enriched in events) node.Forwarder!.OnEnriched(enriched);
        Assert.True(await node.Forwarder!.FlushAsync(TestNodes.Patience), "the gateway did not acknowledge every event");
    }
}
