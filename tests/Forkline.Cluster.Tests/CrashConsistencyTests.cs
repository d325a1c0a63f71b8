using System.Diagnostics;
using System.Globalization;
using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Tests.Support;
using Forkline.Kernel.Tests;
using Xunit.Abstractions;
using Process = System.Diagnostics.Process;

namespace Forkline.Cluster.Tests;

/// <summary>
/// `forkline run` killed with SIGKILL in the middle of an exec storm, then started again on the same data
/// directory, on the real kernel: the history holds every exec and exit once, every storm process ended
/// (seen, or concluded at the restart), none of them live, the projection agrees with the journal, and
/// the killed run is marked crashed, with the gap it left, by the next one.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class CrashConsistencyTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _folder = Directory.CreateTempSubdirectory("forkline-crash-").FullName;
    private readonly string _host = $"crash-{Guid.NewGuid():N}"[..18];

    private readonly List<Process> _runs = [];

    public void Dispose()
    {
        foreach (var run in _runs)
        {
            if (!run.HasExited) run.Kill();
            run.Dispose();
        }
        foreach (var log in Directory.GetFiles(_folder, "*.log"))
            output.WriteLine($"--- {Path.GetFileName(log)} (last 40 lines) ---\n{string.Join('\n', File.ReadLines(log).TakeLast(40))}");
        Directory.Delete(_folder, recursive: true);
    }

    [KernelFact]
    public async Task After_a_kill_9_mid_storm_and_a_restart_the_history_holds_each_event_once_and_every_storm_process_ended()
    {
        var storm = await StormHistory.BuildStormAsync(_folder, Patience);
        var data = Path.Combine(_folder, "data");
        var grpcPort = TestNodes.FreePort();
        using var client = GatewayClient.Connect($"http://127.0.0.1:{grpcPort}");
        var host = new StormHistory(_host, client, DatabaseSettings.SqliteIn(data), Patience);

        // The first run, killed with SIGKILL while the storm runs.
        var first = StartRun(data, grpcPort, "first");
        var killedRun = await host.WatchingRunAsync();
        var stormPid = await host.StormThroughAsync(storm, () =>
        {
            first.Kill(entireProcessTree: false);
            first.WaitForExit();
        }, runOn: TimeSpan.Zero);

        StartRun(data, grpcPort, "second");
        var nextRun = await host.CrashFoundAsync(killedRun);
        // The restart's reconciliation is journaled before anything of the new run; the host goes on
        // producing events, so the checks look at the journal up to here.
        await host.AssertStoredOnceAndProjectedAsync(await host.JournalEndAsync());

        // Every storm process the history knows has ended, by a real exit or one concluded at the restart.
        var stormExecId = await host.StormExecIdAsync(stormPid);
        var stormImages = await host.StormImagesAsync(stormExecId);
        output.WriteLine($"storm pid {stormPid}: {stormImages.Count} processes stored; "
                         + $"{stormImages.Count(i => i.End == (int)ProcessEnd.ConcludedAtRestart)} concluded at restart");
        Assert.True(stormImages.Count >= StormHistory.StoredBeforeKill, $"the storm's processes are in the history ({stormImages.Count})");
        Assert.All(stormImages, image => Assert.True(image.Ended, $"storm process {image.ExecId} (pid {image.Pid}) has an end"));
        Assert.Empty(await host.LiveStormProcessesAsync(stormExecId));

        // The killed run: marked crashed by the next one, and the time between is a gap.
        var stats = await host.StatsAsync();
        var crashed = Assert.Single(stats.Runs, r => r.RunId == killedRun);
        Assert.Equal((true, false, nextRun), (crashed.Crashed, crashed.Final, crashed.CrashFoundBy));
        var gap = Assert.Single(stats.Gaps, g => g.Reason == GapReason.CollectorCrashed);
        Assert.Equal((killedRun, nextRun), (gap.RunId, gap.NextRunId));
        Assert.True(gap.From < gap.To);

        var statsText = await ForklineAsync("stats", "--host", _host, "--gateway", client.Address.ToString());
        Assert.Contains($"crashed: ended without a final report, found by run {nextRun}", statsText.Output);
        Assert.Contains("the collector run ended without a final report", statsText.Output);
        // The window around the gap only: a replay of this busy host's last minutes would take long.
        var replayText = await ForklineAsync("replay", "--host", _host, "--since", Rfc3339(gap.From.ToDateTime().AddSeconds(-1)),
            "--until", Rfc3339(gap.To.ToDateTime().AddSeconds(1)), "--gateway", client.Address.ToString());
        Assert.Single(replayText.Output.Split('\n'),
            line => line.Contains(" gap   not watched from ", StringComparison.Ordinal) && line.Contains($"run {killedRun}, next run {nextRun}", StringComparison.Ordinal));
    }

    private Process StartRun(string data, int grpcPort, string name)
    {
        var start = new ProcessStartInfo(GatewayProcess.Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])
                 ["run", "--node", _host, "--data", data, "--api-http", "127.0.0.1:0", "--api-grpc", $"127.0.0.1:{grpcPort}", "--cluster-port", "0",
                  "--pid", "1", "--type", "exec"])
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {GatewayProcess.Executable}");
        _runs.Add(process);
        var log = new StreamWriter(Path.Combine(_folder, name + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, line) => { if (line.Data is { } text) lock (log) log.WriteLine(text); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is { } text) lock (log) log.WriteLine(text); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Rfc3339(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private Task<CommandResult> ForklineAsync(params string[] arguments) =>
        ExternalCommand.RunAsync(GatewayProcess.Executable, arguments, Patience);
}
