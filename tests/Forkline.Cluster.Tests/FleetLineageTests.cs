using System.Net;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Forkline.Collector.Hooks;
using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Forkline.Kernel.Tests;
using Forkline.Kernel.Tests.Pipeline;
using Forkline.ProcessActors;
using Forkline.ProcessActors.Metrics;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// The fleet on the real kernel: two gateways, a collector node watching this host through BPF and a
/// collector node replaying a capture of it under another host name.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class FleetLineageTests(ITestOutputHelper output)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The kernel pipeline forwards every process of this machine, a build's thousands too.</summary>
    private static readonly TimeSpan FlushPatience = TimeSpan.FromSeconds(120);

    [KernelFact]
    public async Task Lineage_of_a_watched_process_reaches_init_the_replayed_host_keeps_its_own_tree_and_both_trees_survive_a_gateway_restart()
    {
        var kernelHost = Dns.GetHostName();
        var replayHost = "replay-of-" + kernelHost;
        await using var fleet = new Fleet();
        var first = await fleet.StartGatewayAsync();
        var second = await fleet.StartGatewayAsync([first.SeedAddress]);
        var kernelNode = await fleet.StartCollectorAsync(first, second);
        var replayNode = await fleet.StartCollectorAsync(second, first);

        var capturePath = Path.Combine(fleet.DataDirectory, "kernel.fkl");
        var policy = HookPolicy.CredentialsOnly;
        int bashPid;
        ExecId sleep;
        using (var capture = CaptureWriter.Create(capturePath, new CaptureHeader(kernelHost, BootClock.Measure().WallMinusBootNs, policy.Descriptors)))
        {
            await using var kernel = await KernelPipeline.StartAsync(kernelNode.System, kernelHost, output.WriteLine, policy, capture, [kernelNode.Forwarder]);
            (bashPid, var sleepExec) = await ShellChain.RunAsync(kernel);
            sleep = sleepExec.Process.ExecId;
            await kernel.StopAsync();
        }
        await FlushAsync(kernelNode, "the gateways acknowledge every event of this host");
        await ReplayAsync(capturePath, replayHost, replayNode);

        var kernelLineage = await LineageOfSleepAsync(second, sleep);
        output.WriteLine("lineage: sleep <- " + string.Join(" <- ", kernelLineage.Ancestors.Select(a => $"{a.Pid} {a.Binary}")));
        Assert.Equal([bashPid, bashPid], kernelLineage.Ancestors.Take(2).Select(a => a.Pid));
        Assert.EndsWith("/sh", kernelLineage.Ancestors[0].Binary, StringComparison.Ordinal);
        Assert.EndsWith("/bash", kernelLineage.Ancestors[1].Binary, StringComparison.Ordinal);
        Assert.Equal(ThisProcess.ExecId(kernelHost).Encode(), kernelLineage.Ancestors[2].ExecId);
        Assert.Equal(1, kernelLineage.Ancestors[^1].Pid);
        Assert.All(kernelLineage.Ancestors, a => Assert.Equal(kernelHost, a.Host));

        var replayedSleep = new ExecId(replayHost, sleep.StartKtime, sleep.Pid);
        var replayLineage = await LineageOfSleepAsync(first, replayedSleep);
        Assert.Equal(kernelLineage.Ancestors.Select(a => (a.Pid, a.Binary)), replayLineage.Ancestors.Select(a => (a.Pid, a.Binary)));
        Assert.All(replayLineage.Ancestors, a => Assert.Equal(replayHost, a.Host));
        var replayTree = await LiveTreeAsync(first, replayHost);
        Assert.Contains(replayTree, p => p.ExecId == ThisProcess.ExecId(replayHost).Encode());
        Assert.All(replayTree, p => Assert.Equal(replayHost, ExecId.Decode(p.ExecId).Node));

        var gateways = new[] { first, second };
        var kernelHome = await HomeOfAsync(gateways, kernelHost);
        var replayHome = await HomeOfAsync(gateways, replayHost);
        output.WriteLine($"{kernelHost} lives on {kernelHome.SeedAddress}, {replayHost} on {replayHome.SeedAddress}");

        var treesBefore = new[] { await LiveTreeAsync(second, kernelHost), replayTree };
        Assert.Contains(treesBefore[0], p => p.ExecId == ThisProcess.ExecId(kernelHost).Encode());
        output.WriteLine($"live processes before the restart: {treesBefore[0].Count} on {kernelHost}, {treesBefore[1].Count} on {replayHost}");
        await kernelHome.DisposeAsync();
        var survivor = kernelHome == first ? second : first;
        var restarted = await fleet.StartGatewayAsync([survivor.SeedAddress]);

        foreach (var gateway in new[] { survivor, restarted })
        {
            Assert.Equal(treesBefore[0], await LiveTreeAsync(gateway, kernelHost));
            Assert.Equal(treesBefore[1], await LiveTreeAsync(gateway, replayHost));
            Assert.Equal(kernelLineage.Ancestors, (await LineageOfSleepAsync(gateway, sleep)).Ancestors);
        }
    }

    /// <summary>Plays the capture through a pipeline of its own that names every process after <paramref name="host"/>.</summary>
    private async Task ReplayAsync(string capturePath, string host, CollectorNode node)
    {
        using var meters = new MeterValues();
        var pipeline = ProcessPipeline.Start(node.System, new ProcessActorSettings { NodeName = host }, new ProcessActorMetrics(meters), [node.Forwarder]);
        var replay = new ReplayFileSource(capturePath);
        await replay.RunAsync(pipeline, None);
        await pipeline.StopAsync(StopTimeout);
        Assert.Equal(0, replay.Counters.TotalRejected);
        await FlushAsync(node, "the gateways acknowledge every replayed event");
    }

    private async Task FlushAsync(CollectorNode node, string what)
    {
        var flushed = await node.Forwarder.FlushAsync(FlushPatience);
        var metrics = node.MetricsExport;
        var state = $"{metrics.Value("forkline_forward_acknowledged_total")} events acknowledged, {metrics.Value("forkline_forward_buffered_events")} buffered, " +
                    $"{metrics.Value("forkline_forward_retries_total")} batches resent, {metrics.Value("forkline_forward_link_changes_total", "connected")} streams opened";
        output.WriteLine($"{what}: {flushed} ({state})");
        Assert.True(flushed, $"{what} within {FlushPatience.TotalSeconds} s: {state}");
    }

    /// <summary>The sleep has exited: its lineage comes from the history table once the projection has written the chain.</summary>
    private static async Task<LineageResult> LineageOfSleepAsync(GatewayNode gateway, ExecId sleep)
    {
        LineageResult? lineage = null;
        await TestNodes.EventuallyAsync(async () =>
        {
            lineage = await gateway.Queries.GetLineageAsync(sleep.Encode(), 0, None);
            return lineage is not null && lineage.Ancestors.Count > 3 && lineage.Ancestors[^1].ParentExecId is null;
        }, $"lineage of {sleep.Node}:{sleep.Key} up to a root on {gateway.SeedAddress}");
        return lineage!;
    }

    private static Task<IReadOnlyList<ProcessRecord>> LiveTreeAsync(GatewayNode gateway, string host) =>
        gateway.Queries.ListProcessesAsync(new ProcessListQuery(host, Live: true, Limit: ProcessQueries.MaxListLimit), None);

    /// <summary>The gateway whose shard region runs the host's entity.</summary>
    private static async Task<GatewayNode> HomeOfAsync(IEnumerable<GatewayNode> gateways, string host)
    {
        foreach (var gateway in gateways)
        {
            var state = await gateway.HostTrees.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TestNodes.Patience);
            if (state.Shards.Any(shard => shard.EntityIds.Contains(host))) return gateway;
        }
        throw new InvalidOperationException($"no gateway runs the entity of host {host}");
    }
}
