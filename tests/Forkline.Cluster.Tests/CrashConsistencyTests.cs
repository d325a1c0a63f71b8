using System.Diagnostics;
using Process = System.Diagnostics.Process;
using System.Globalization;
using Forkline.Client;
using Forkline.Collector.Tests;
using Forkline.Contracts.Api;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.Tests.Support;
using Forkline.Kernel.Tests;
using Xunit.Abstractions;

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
    private const int StormProcesses = 4_000;
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
        var storm = await BuildStormAsync();
        var data = Path.Combine(_folder, "data");
        var grpcPort = TestNodes.FreePort();
        using var client = GatewayClient.Connect($"http://127.0.0.1:{grpcPort}");

        int stormPid;
        string killedRun;
        {
            // The first run, killed with SIGKILL while the storm runs.
            var first = StartRun(data, grpcPort, "first");
            killedRun = await WatchingRunAsync(client);
            using var stormProcess = Process.Start(new ProcessStartInfo(storm, ["-n", StormProcesses.ToString(CultureInfo.InvariantCulture), "-j", "2"])
            {
                RedirectStandardOutput = true,
            }) ?? throw new InvalidOperationException($"could not start {storm}");
            stormPid = stormProcess.Id;
            // Mid-storm: some of its processes are in the journal, more are in the ring, the actors and the forwarder.
            await TestNodes.EventuallyAsync(async () => (await StormChildrenAsync(client, stormPid)) >= 200, "200 storm processes stored before the kill");
            first.Kill(entireProcessTree: false);
            await first.WaitForExitAsync();
            Assert.False(stormProcess.HasExited, "the storm still runs when forkline is killed");
            await stormProcess.WaitForExitAsync();
            Assert.Equal(0, stormProcess.ExitCode);
        }

        StartRun(data, grpcPort, "second");
        var nextRun = await CrashFoundAsync(client, killedRun);
        var history = new PersistedHistory(DatabaseSettings.SqliteIn(data));
        // The restart's reconciliation is journaled before anything of the new run; the host goes on
        // producing events, so the checks look at the journal up to here.
        var journalEnd = await JournalEndAsync(data);
        await TestNodes.EventuallyAsync(async () => await history.ProjectedUpToAsync() >= journalEnd,
            "the projection caught up with the journal as the restart found it", Patience * 2);

        var journaledUpToRestart = (await history.JournaledEventsAsync(_host)).Where(e => e.Ordering <= journalEnd).Select(e => e.Event).ToList();
        Assert.Empty(Twice(journaledUpToRestart, WireEventKind.Exec));
        Assert.Empty(Twice(journaledUpToRestart, WireEventKind.Exit));

        // The projection equals the journal: a row for every image the journal names, none it does not,
        // each ended where the journal ends it.
        var projected = await history.ProjectedProcessesAsync(_host);
        var journaled = (await history.JournaledEventsAsync(_host)).Select(e => e.Event).ToList();
        var images = journaledUpToRestart.Where(e => e.Kind != WireEventKind.Hook).Select(ExecIdOf).ToHashSet();
        var projectedIds = projected.Select(p => p.ExecId).ToHashSet();
        Assert.Empty(images.Except(projectedIds));
        Assert.Empty(projectedIds.Except(journaled.Where(e => e.Kind != WireEventKind.Hook).Select(ExecIdOf)));
        var exits = journaledUpToRestart.Where(e => e.Kind == WireEventKind.Exit).ToDictionary(ExecIdOf);
        foreach (var row in projected.Where(p => exits.ContainsKey(p.ExecId)))
        {
            var exit = exits[row.ExecId].Process.Exit;
            Assert.Equal(exit.Conclusion == 0 ? exit.Status : (int?)null, row.ExitStatus);
        }

        // Every storm process the history knows has ended, by a real exit or one concluded at the restart.
        var stormImages = await StormImagesAsync(data, stormPid);
        output.WriteLine($"storm pid {stormPid}: {stormImages.Count} of its {StormProcesses} processes stored; "
                         + $"{stormImages.Count(i => i.End == (int)ProcessEnd.ConcludedAtRestart)} concluded at restart");
        Assert.True(stormImages.Count >= 200, $"the storm's processes are in the history ({stormImages.Count})");
        Assert.All(stormImages, image => Assert.True(image.Ended, $"storm process {image.ExecId} (pid {image.Pid}) has an end"));
        var live = await client.Api.ListProcessesAsync(new ListProcessesRequest { Host = _host, Live = true, Limit = 10_000 }, GatewayClient.Query(default));
        Assert.DoesNotContain(live.Processes, p => p.Pid == stormPid || ParentPid(p.ParentExecId) == stormPid);

        // The killed run: marked crashed by the next one, and the time between is a gap.
        var stats = await client.Api.GetHostStatsAsync(new GetHostStatsRequest { Host = _host }, GatewayClient.Query(default));
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

    /// <summary>The run id of the host's collector run that watches now, once it stored its first events.</summary>
    private async Task<string> WatchingRunAsync(GatewayClient client)
    {
        string? found = null;
        await TestNodes.EventuallyAsync(async () =>
        {
            try
            {
                var stats = await client.Api.GetHostStatsAsync(new GetHostStatsRequest { Host = _host }, GatewayClient.Query(default));
                found = stats.Runs.FirstOrDefault(r => !r.Final && !r.Crashed)?.RunId;
            }
            catch (Grpc.Core.RpcException)
            {
                found = null; // not listening yet
            }
            return found is not null;
        }, "forkline run watches the host and reports", Patience * 2);
        return found!;
    }

    /// <summary>Waits until the next run's start marked <paramref name="killedRun"/> crashed; the run that found it.</summary>
    private async Task<string> CrashFoundAsync(GatewayClient client, string killedRun)
    {
        RunStats? crashed = null;
        await TestNodes.EventuallyAsync(async () =>
        {
            try
            {
                var stats = await client.Api.GetHostStatsAsync(new GetHostStatsRequest { Host = _host }, GatewayClient.Query(default));
                crashed = stats.Runs.FirstOrDefault(r => r.RunId == killedRun && r.Crashed);
            }
            catch (Grpc.Core.RpcException)
            {
                crashed = null; // not listening yet
            }
            return crashed is not null;
        }, "the restarted forkline run marks the killed run crashed", Patience * 2);
        return crashed!.CrashFoundBy;
    }

    private async Task<int> StormChildrenAsync(GatewayClient client, int stormPid)
    {
        var all = await client.Api.ListProcessesAsync(new ListProcessesRequest { Host = _host, Limit = 10_000 }, GatewayClient.Query(default));
        return all.Processes.Count(p => ParentPid(p.ParentExecId) == stormPid);
    }

    private sealed record StoredImage(string ExecId, int Pid, bool Ended, int? End);

    /// <summary>The storm and the images it started, from the history table.</summary>
    private async Task<List<StoredImage>> StormImagesAsync(string data, int stormPid)
    {
        await using var connection = await DatabaseSettings.SqliteIn(data).OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT exec_id, pid, parent_exec_id, exit_time, end_kind FROM processes WHERE host = @host";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@host";
        parameter.Value = _host;
        command.Parameters.Add(parameter);
        var images = new List<StoredImage>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var pid = reader.GetInt32(1);
            var parentPid = reader.IsDBNull(2) ? -1 : ParentPid(reader.GetString(2));
            if (pid != stormPid && parentPid != stormPid) continue;
            images.Add(new StoredImage(reader.GetString(0), pid, !reader.IsDBNull(3), reader.IsDBNull(4) ? null : reader.GetInt32(4)));
        }
        return images;
    }

    private static async Task<long> JournalEndAsync(string data)
    {
        await using var connection = await DatabaseSettings.SqliteIn(data).OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(ordering), 0) FROM journal";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static List<string> Twice(List<WireEvent> events, WireEventKind kind) =>
        events.Where(e => e.Kind == kind).GroupBy(ExecIdOf).Where(g => g.Count() > 1).Select(g => g.Key).ToList();

    private static string ExecIdOf(WireEvent wire) =>
        new ExecId(wire.Process.ExecId.Node, wire.Process.ExecId.StartKtime, wire.Process.ExecId.Pid).Encode();

    private static string Rfc3339(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static int ParentPid(string parentExecId) => ExecId.TryDecode(parentExecId, out var parent) ? parent.Pid : -1;

    private Task<CommandResult> ForklineAsync(params string[] arguments) =>
        ExternalCommand.RunAsync(GatewayProcess.Executable, arguments, Patience);

    /// <summary>The exec storm of the cost figures (bench/c), built into this test's folder.</summary>
    private async Task<string> BuildStormAsync()
    {
        var outputFolder = Path.Combine(_folder, "bench");
        var make = await ExternalCommand.RunAsync("make", ["-C", Path.Combine(RepositoryFiles.Root, "bench", "c"), $"OUT={outputFolder}", Path.Combine(outputFolder, "storm")], Patience);
        Assert.True(make.ExitCode == 0, make.ToString());
        return Path.Combine(outputFolder, "storm");
    }
}
