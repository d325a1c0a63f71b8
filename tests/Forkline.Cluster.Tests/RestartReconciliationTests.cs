using System.Diagnostics;
using Forkline.Collecting;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Forkline.Kernel.Tests;
using Forkline.Kernel.Tests.Pipeline;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// An all-in-one node (collector and gateway, SQLite) stopped and started again on the same data, on the
/// real kernel: what ended while it was stopped is ended, what still runs keeps its identity.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class RestartReconciliationTests(ITestOutputHelper output) : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly TestDatabase _data = new();
    private readonly string _host = $"restart-{Guid.NewGuid():N}"[..20];

    public void Dispose() => _data.Dispose();

    [KernelFact]
    public async Task A_process_killed_while_the_node_was_stopped_is_ended_as_concluded_and_one_still_running_keeps_its_exec_id()
    {
        using var first = Workloads.Start("/bin/sleep", "3001");
        using var second = Workloads.Start("/bin/sleep", "3002");
        try
        {
            ProcessRecord firstStored, secondStored;
            DateTime stopped;
            await using (var node = await TestNodes.StartAsync(TestNodes.Settings(_data)))
            {
                await using (var kernel = await StartCollectorAsync(node))
                {
                    firstStored = await LiveAsync(node, first.Id);
                    secondStored = await LiveAsync(node, second.Id);
                    await kernel.StopAsync();
                }
                Assert.True(await node.Forwarder!.FlushAsync(TestNodes.Patience), "the gateway stored every event of the first run");
                stopped = DateTime.UtcNow;
            }

            first.Kill();
            await first.WaitForExitAsync(None);
            var killed = DateTime.UtcNow;

            await using var restarted = await TestNodes.StartAsync(TestNodes.Settings(_data));
            await using var watching = await StartCollectorAsync(restarted);
            var queries = restarted.Queries!;

            var live = await queries.ListProcessesAsync(new ProcessListQuery(_host, Live: true, Limit: 10_000), None);
            Assert.DoesNotContain(live, p => p.Pid == first.Id);
            Assert.Equal(secondStored.ExecId, Assert.Single(live, p => p.Pid == second.Id).ExecId);

            var events = await queries.ReplayAsync(_host, DateTime.MinValue, DateTime.MaxValue, None).CollectAsync();
            var concluded = Assert.IsType<EnrichedExit>(Assert.Single(events, e => e.Kind == EnrichedKind.Exit && e.Process.ExecId.Encode() == firstStored.ExecId));
            var exit = concluded.Process.Exit!;
            output.WriteLine($"sleep 3001 concluded: {exit}");
            Assert.Equal(ExitConclusion.Restart, exit.Conclusion);
            Assert.Equal((0, 0), (exit.Status, exit.Signal));
            Assert.InRange(exit.EndedAfter!.Value, firstStored.StartTime, stopped);
            Assert.InRange(exit.Time, killed, DateTime.UtcNow);
            Assert.Single(events, e => e.Kind == EnrichedKind.Exec && e.Process.ExecId.Encode() == secondStored.ExecId);
            // Other processes of this busy host may have ended between the runs too.
            Assert.True(restarted.MetricsExport.Value("forkline_exits_concluded_total", "restart") >= 1, "forkline_exits_concluded_total{reason=\"restart\"} counts sleep 3001");

            var record = await queries.GetProcessAsync(firstStored.ExecId, None);
            Assert.NotNull(record);
            Assert.False(record.Live);
            Assert.Null(record.ExitStatus);

            // The adopted identity is the one BPF now knows the process by: its real exit pairs with the stored exec.
            second.Kill();
            await second.WaitForExitAsync(None);
            await watching.Events.WaitFor<EnrichedExit>(e => e.Process.ExecId.Encode() == secondStored.ExecId,
                "the real exit of sleep 3002 under its stored exec_id", KernelPipeline.EventTimeout);
            await TestNodes.EventuallyAsync(async () => (await queries.GetProcessAsync(secondStored.ExecId, None))?.ExitSignal == 9,
                "sleep 3002 stored as killed by SIGKILL");
        }
        finally
        {
            KillQuietly(first);
            KillQuietly(second);
        }
    }

    private Task<KernelPipeline> StartCollectorAsync(GatewayNode node) =>
        KernelPipeline.StartAsync(node.System, _host, output.WriteLine, HookPolicy.CredentialsOnly, moreSinks: [node.Forwarder!],
            storedIdentities: StoredTreeReconciliation.Lookup(node.Forwarder!, _host, BootClock.Measure(), TestNodes.Patience,
                new LineLoggerFactory(output.WriteLine).CreateLogger("reconciliation")));

    private async Task<ProcessRecord> LiveAsync(GatewayNode node, int pid)
    {
        ProcessRecord? found = null;
        await TestNodes.EventuallyAsync(async () =>
        {
            var live = await node.Queries!.ListProcessesAsync(new ProcessListQuery(_host, Pid: pid, Live: true), None);
            found = live.Count == 1 ? live[0] : null;
            return found is not null;
        }, $"pid {pid} live in the stored tree of {_host}");
        return found!;
    }

    private static void KillQuietly(Process process)
    {
        if (!process.HasExited) process.Kill();
    }
}
