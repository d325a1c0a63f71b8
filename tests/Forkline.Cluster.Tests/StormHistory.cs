using System.Diagnostics;
using Process = System.Diagnostics.Process;
using System.Globalization;
using Forkline.Client;
using Forkline.Collector.Tests;
using Forkline.Contracts.Api;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Cluster.Tests;

/// <summary>One storm process (or the storm itself) as the history table holds it.</summary>
/// <param name="End">The end kind (<see cref="ProcessEnd"/>), null while it has none.</param>
public sealed record StoredImage(string ExecId, int Pid, bool Ended, int? End);

/// <summary>
/// What the crash tests ask of one host's history while an exec storm (bench/c storm) runs through a kill -9:
/// the collector runs the gateway knows, the storm's processes in the history table, events stored twice.
/// The gateway's database is SQLite in <paramref name="database"/>; queries go through <paramref name="client"/>.
/// </summary>
public sealed class StormHistory(string host, GatewayClient client, DatabaseSettings database, TimeSpan patience)
{
    /// <summary>Storm processes stored before the kill: the crash falls in the middle of the storm.</summary>
    public const int StoredBeforeKill = 200;

    /// <summary>
    /// Runs <paramref name="storm"/> (paced, 1,000 processes a second, until it is killed: a fixed count could be
    /// over before <see cref="StoredBeforeKill"/> of its processes are stored on a slow host, the history lagging
    /// the journal by seconds), and once that many of its processes are stored, <paramref name="kill"/>s. The storm
    /// goes on for <paramref name="runOn"/> (what the test lets happen after the kill, not a wait for anything),
    /// then is killed with its processes; returns its pid.
    /// </summary>
    public async Task<int> StormThroughAsync(string storm, Action kill, TimeSpan runOn)
    {
        using var stormProcess = Process.Start(new ProcessStartInfo(storm, ["-n", "10000000", "-j", "2", "-r", "1000"]) { RedirectStandardOutput = true })
            ?? throw new InvalidOperationException($"could not start {storm}");
        try
        {
            // Mid-storm: some of its processes are in the journal, more are in the ring, the actors and the forwarder.
            await TestNodes.EventuallyAsync(async () => await StormChildrenAsync(stormProcess.Id) >= StoredBeforeKill,
                $"{StoredBeforeKill} storm processes stored before the kill", patience);
            kill();
            Assert.False(stormProcess.HasExited, "the storm still runs at the kill");
            await Task.Delay(runOn);
            Assert.False(stormProcess.HasExited, "the storm still runs until the test ends it");
        }
        finally
        {
            stormProcess.Kill(entireProcessTree: true);
            await stormProcess.WaitForExitAsync();
        }
        return stormProcess.Id;
    }

    /// <summary>The run id of the host's collector run that watches now (reported, not final, not crashed), other than <paramref name="except"/>.</summary>
    public async Task<string> WatchingRunAsync(string? except = null)
    {
        string? found = null;
        await TestNodes.EventuallyAsync(async () =>
        {
            found = (await StatsOrNullAsync())?.Runs.FirstOrDefault(r => !r.Final && !r.Crashed && r.RunId != except)?.RunId;
            return found is not null;
        }, "a collector run watches the host and reports", patience * 2);
        return found!;
    }

    /// <summary>Waits until the next run's start marked <paramref name="killedRun"/> crashed; the run that found it.</summary>
    public async Task<string> CrashFoundAsync(string killedRun)
    {
        RunStats? crashed = null;
        await TestNodes.EventuallyAsync(async () =>
        {
            crashed = (await StatsOrNullAsync())?.Runs.FirstOrDefault(r => r.RunId == killedRun && r.Crashed);
            return crashed is not null;
        }, "the restarted collector marks the killed run crashed", patience * 2);
        return crashed!.CrashFoundBy;
    }

    public Task<GetHostStatsResponse> StatsAsync() =>
        client.Api.GetHostStatsAsync(new GetHostStatsRequest { Host = host }, GatewayClient.Query(default)).ResponseAsync;

    /// <summary>
    /// Processes the gateway knows (live or ended) whose parent is the storm running as <paramref name="stormPid"/>.
    /// By the storm's exec_id, not its pid: on a busy host pids come round again, and a process that once had
    /// the storm's pid may have children of its own.
    /// </summary>
    public async Task<int> StormChildrenAsync(int stormPid)
    {
        var all = await client.Api.ListProcessesAsync(new ListProcessesRequest { Host = host, Limit = 10_000 }, GatewayClient.Query(default));
        var storm = all.Processes.Where(p => p.Pid == stormPid && IsStorm(p.Binary)).MaxBy(p => p.StartTime?.ToDateTime());
        return storm is null ? 0 : all.Processes.Count(p => p.ParentExecId == storm.ExecId);
    }

    /// <summary>The exec_id of the storm that ran as <paramref name="stormPid"/>, once the history table holds it.</summary>
    public async Task<string> StormExecIdAsync(int stormPid)
    {
        string? found = null;
        await TestNodes.EventuallyAsync(async () =>
        {
            await using var connection = await database.OpenAsync(CancellationToken.None);
            await using var command = PersistedHistory.Command(connection,
                "SELECT exec_id, binary_path FROM processes WHERE host = @host AND pid = @pid ORDER BY start_time DESC", ("@host", host), ("@pid", stormPid));
            await using var reader = await command.ExecuteReaderAsync();
            while (found is null && await reader.ReadAsync())
                if (IsStorm(reader.GetString(1))) found = reader.GetString(0);
            return found is not null;
        }, $"the storm (pid {stormPid}) is in the history table", patience);
        return found!;
    }

    /// <summary>The storm itself or one of its children, live in the gateway's tree.</summary>
    public async Task<List<string>> LiveStormProcessesAsync(string stormExecId)
    {
        var live = await client.Api.ListProcessesAsync(new ListProcessesRequest { Host = host, Live = true, Limit = 10_000 }, GatewayClient.Query(default));
        return live.Processes.Where(p => p.ExecId == stormExecId || p.ParentExecId == stormExecId).Select(p => p.ExecId).ToList();
    }

    /// <summary>The storm and the images it started, from the history table.</summary>
    public async Task<List<StoredImage>> StormImagesAsync(string stormExecId)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = PersistedHistory.Command(connection,
            "SELECT exec_id, pid, exit_time, end_kind FROM processes WHERE host = @host AND (exec_id = @storm OR parent_exec_id = @storm)",
            ("@host", host), ("@storm", stormExecId));
        var images = new List<StoredImage>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            images.Add(new StoredImage(reader.GetString(0), reader.GetInt32(1), !reader.IsDBNull(2), reader.IsDBNull(3) ? null : reader.GetInt32(3)));
        return images;
    }

    /// <summary>
    /// The ordering of the last journal entry written so far that the projection indexes: an event entry ("jh").
    /// A final run report ("fr") is journaled untagged, so the projection's offset never counts it.
    /// </summary>
    public async Task<long> JournalEndAsync()
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(ordering), 0) FROM journal WHERE manifest = 'jh'";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The journal up to <paramref name="journalEnd"/> holds no exec and no exit twice, and the projection,
    /// once caught up with it, equals it: a row for every image the journal names, none it does not, each
    /// ended where the journal ends it.
    /// </summary>
    public async Task AssertStoredOnceAndProjectedAsync(long journalEnd)
    {
        var history = new PersistedHistory(database);
        await TestNodes.EventuallyAsync(async () => await history.ProjectedUpToAsync() >= journalEnd,
            $"the projection caught up with the journal (ordering {journalEnd})", patience * 2);

        var upToEnd = (await history.JournaledEventsAsync(host)).Where(e => e.Ordering <= journalEnd).Select(e => e.Event).ToList();
        Assert.Empty(Twice(upToEnd, WireEventKind.Exec));
        Assert.Empty(Twice(upToEnd, WireEventKind.Exit));

        // The host goes on producing events: the whole journal is read after the projection, so it holds every row's image.
        var projected = await history.ProjectedProcessesAsync(host);
        var journaled = (await history.JournaledEventsAsync(host)).Select(e => e.Event).ToList();
        var images = upToEnd.Where(e => e.Kind != WireEventKind.Hook).Select(ExecIdOf).ToHashSet();
        var projectedIds = projected.Select(p => p.ExecId).ToHashSet();
        Assert.Empty(images.Except(projectedIds));
        Assert.Empty(projectedIds.Except(journaled.Where(e => e.Kind != WireEventKind.Hook).Select(ExecIdOf)));
        var exits = upToEnd.Where(e => e.Kind == WireEventKind.Exit).ToDictionary(ExecIdOf);
        foreach (var row in projected.Where(p => exits.ContainsKey(p.ExecId)))
        {
            var exit = exits[row.ExecId].Process.Exit;
            Assert.Equal(exit.Conclusion == 0 ? exit.Status : (int?)null, row.ExitStatus);
        }
    }

    /// <summary>The exec_ids that have more than one event of <paramref name="kind"/>.</summary>
    public static List<string> Twice(IEnumerable<WireEvent> events, WireEventKind kind) =>
        events.Where(e => e.Kind == kind).GroupBy(ExecIdOf).Where(g => g.Count() > 1).Select(g => g.Key).ToList();

    public static string ExecIdOf(WireEvent wire) =>
        new ExecId(wire.Process.ExecId.Node, wire.Process.ExecId.StartKtime, wire.Process.ExecId.Pid).Encode();

    private static bool IsStorm(string binary) => binary.EndsWith("/storm", StringComparison.Ordinal);

    /// <summary>The exec storm of the cost figures (bench/c), built into <paramref name="folder"/>.</summary>
    public static async Task<string> BuildStormAsync(string folder, TimeSpan patience)
    {
        var outputFolder = Path.Combine(folder, "bench");
        var make = await ExternalCommand.RunAsync("make", ["-C", Path.Combine(RepositoryFiles.Root, "bench", "c"), $"OUT={outputFolder}", Path.Combine(outputFolder, "storm")], patience);
        Assert.True(make.ExitCode == 0, make.ToString());
        return Path.Combine(outputFolder, "storm");
    }

    private async Task<GetHostStatsResponse?> StatsOrNullAsync()
    {
        try
        {
            return await StatsAsync();
        }
        catch (Grpc.Core.RpcException)
        {
            return null; // not listening yet, or the host has no entity yet
        }
    }
}
