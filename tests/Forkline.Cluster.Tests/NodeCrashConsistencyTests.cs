using System.Diagnostics;
using System.Globalization;
using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Forkline.Kernel.Tests;
using Xunit.Abstractions;
using Process = System.Diagnostics.Process;

namespace Forkline.Cluster.Tests;

/// <summary>
/// The fleet roles as separate processes on the real kernel: a `forkline gateway` (SQLite) and a
/// `forkline collector-node` watching this machine. Each is killed with SIGKILL in the middle of an exec
/// storm and started again: the collector-node first (its run is marked crashed by the next, with the gap
/// it left; every storm process ends, really or concluded at the restart, and none stays live), then the
/// gateway (the collector holds and resends what was not acknowledged; every storm process ends in the history
/// and none stays live in the restarted gateway's tree). Through both, the journal holds no exec and no exit
/// twice, the projection equals it, and nothing acknowledged is missing from it.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class NodeCrashConsistencyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    // The gateway stays down this long while the storm goes on: the collector holds what it cannot deliver.
    private static readonly TimeSpan GatewayDown = TimeSpan.FromSeconds(3);

    private readonly string _folder = Directory.CreateTempSubdirectory("forkline-node-crash-").FullName;
    private readonly string _host = $"nodecrash-{Guid.NewGuid():N}"[..20];
    private readonly List<Process> _collectors = [];
    private GatewayProcess? _gateway;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var collector in _collectors)
        {
            if (!collector.HasExited) collector.Kill();
            collector.Dispose();
        }
        if (_gateway is not null) await _gateway.DisposeAsync();
        foreach (var log in Directory.GetFiles(_folder, "*.log"))
            output.WriteLine($"--- {Path.GetFileName(log)} (last 40 lines) ---\n{string.Join('\n', File.ReadLines(log).TakeLast(40))}");
        Directory.Delete(_folder, recursive: true);
    }

    [KernelFact]
    public async Task A_collector_node_and_then_the_gateway_killed_mid_storm_leave_each_event_stored_once_every_storm_process_ended_and_nothing_acknowledged_lost()
    {
        var storm = await StormHistory.BuildStormAsync(_folder, Patience);
        var database = DatabaseSettings.SqliteIn(Path.Combine(_folder, "gateway"));
        var port = TestNodes.FreePort();
        _gateway = GatewayProcess.Start("gateway", port, TestNodes.FreePort(), [GatewaySettings.SeedAddress("127.0.0.1", port)], database,
            TimeSpan.FromSeconds(10), _folder);
        using var client = GatewayClient.Connect(_gateway.ApiGrpcAddress.ToString());
        var host = new StormHistory(_host, client, database, Patience);

        // The collector-node, killed with SIGKILL while the first storm runs.
        var first = StartCollector("collector-first");
        var killedRun = await host.WatchingRunAsync();
        var firstStorm = await host.StormThroughAsync(storm, () =>
        {
            first.Kill(entireProcessTree: false);
            first.WaitForExit();
        }, runOn: TimeSpan.Zero);
        StartCollector("collector-second");
        var nextRun = await host.CrashFoundAsync(killedRun);
        await host.AssertStoredOnceAndProjectedAsync(await host.JournalEndAsync());
        var firstStormExecId = await AssertStormEndedAsync(host, firstStorm, "the first storm (its collector killed)");
        await AssertNoneLiveAsync(host, firstStormExecId, "the first storm (its collector killed)");

        var stats = await host.StatsAsync();
        var crashed = Assert.Single(stats.Runs, r => r.RunId == killedRun);
        Assert.Equal((true, false, nextRun), (crashed.Crashed, crashed.Final, crashed.CrashFoundBy));
        // What its last report counted as acknowledged is in the journal (the report may be older than the last stored batch).
        Assert.True(crashed.AcknowledgedNotStored <= 0, $"the killed run's acknowledged events are stored ({crashed.AcknowledgedNotStored} acknowledged, not stored)");
        var gap = Assert.Single(stats.Gaps, g => g.Reason == GapReason.CollectorCrashed && g.RunId == killedRun);
        Assert.Equal(nextRun, gap.NextRunId);
        Assert.True(gap.From < gap.To, $"the gap has bounds in order: {gap.From} .. {gap.To}");

        // The gateway, killed with SIGKILL while the second storm runs, and started again on the same ports and
        // database once the storm is over: meanwhile the collector holds what it could not deliver.
        var secondStorm = await host.StormThroughAsync(storm, _gateway.KillHard, runOn: GatewayDown);
        _gateway.Start();
        await TestNodes.EventuallyAsync(async () => await _gateway.GatewaysUpAsync() == 1, "the restarted gateway is Up", Patience);
        // Before the collector stops: an exit the ring lost is concluded by its liveness check.
        var secondStormExecId = await AssertStormEndedAsync(host, secondStorm, "the second storm (the gateway killed)");
        await AssertNoneLiveAsync(host, secondStormExecId, "the second storm (the gateway killed)");

        // Stopped gracefully, the collector delivers what it holds and sends its run's final report.
        var second = _collectors[^1];
        Assert.True(Signal(second.Id, "TERM"), "SIGTERM sent to the collector-node");
        await second.WaitForExitAsync().WaitAsync(Patience * 2);
        RunStats? final = null;
        await TestNodes.EventuallyAsync(async () =>
        {
            final = (await host.StatsAsync()).Runs.FirstOrDefault(r => r.RunId == nextRun && r.Final);
            return final is not null;
        }, "the second collector run's final report is stored", Patience);
        await host.AssertStoredOnceAndProjectedAsync(await host.JournalEndAsync());
        output.WriteLine($"second run: stored {final!.Stored:N0}, already stored {final.AlreadyStored:N0}, resent receipts {final.ResentReceipts:N0}, " +
                         $"acknowledged not stored {final.AcknowledgedNotStored}, in flight {final.InFlight}, balanced {final.Balanced}");
        Assert.Equal(0, final.AcknowledgedNotStored);
        Assert.True(final.Balanced, $"the second run balances: every event it produced reached a counted end ({final})");
    }

    /// <summary>Every storm process the history knows has ended (a real exit, or one concluded); the storm's exec_id.</summary>
    private async Task<string> AssertStormEndedAsync(StormHistory host, int stormPid, string which)
    {
        var stormExecId = await host.StormExecIdAsync(stormPid);
        List<StoredImage> images = [];
        await TestNodes.EventuallyAsync(async () =>
        {
            images = await host.StormImagesAsync(stormExecId);
            return images.Count >= StormHistory.StoredBeforeKill && images.All(image => image.Ended);
        }, $"every process of {which} stored has an end", Patience);
        output.WriteLine($"{which}, pid {stormPid}: {images.Count} of its processes stored; " +
                         $"{images.Count(i => i.End == (int)ProcessEnd.ConcludedAtRestart)} concluded at restart, {images.Count(i => i.End == (int)ProcessEnd.ConcludedLost)} concluded lost");
        return stormExecId;
    }

    /// <summary>
    /// Once the history ends every storm process, the gateway's live tree holds none of them: the entity applies
    /// an event to its tree when the event's journal entry is written, the projection reads it after that.
    /// </summary>
    private async Task AssertNoneLiveAsync(StormHistory host, string stormExecId, string which)
    {
        List<string> live = [];
        try
        {
            await TestNodes.EventuallyAsync(async () => (live = await host.LiveStormProcessesAsync(stormExecId)).Count == 0,
                $"no process of {which} is live in the gateway's tree", Patience);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{live.Count} processes of {which} stay live in the gateway's tree though the history ends them: {string.Join(", ", live.Take(10))}");
        }
    }

    private Process StartCollector(string name)
    {
        var start = new ProcessStartInfo(GatewayProcess.Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["collector-node", "--gateway", $"127.0.0.1:{_gateway!.IngestPort}", "--node", _host, "--container-identity", "false"])
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {GatewayProcess.Executable}");
        _collectors.Add(process);
        var log = new StreamWriter(Path.Combine(_folder, name + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, line) => { if (line.Data is { } text) lock (log) log.WriteLine(text); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is { } text) lock (log) log.WriteLine(text); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static bool Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        return kill.ExitCode == 0;
    }
}
