using System.Diagnostics;
using Forkline.Contracts.Identity;
using Forkline.Gateway.Api;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Forkline.Benchmarks;

/// <summary>
/// GetLineage latency over a million-row history: the <c>processes</c> rows of one host are
/// bulk-inserted with SQL in one transaction (setup only; the projection would take minutes), then
/// random exec_ids are queried through <see cref="IProcessQueries.GetLineageAsync"/> (host entity ask,
/// recursive ancestor SQL, descendant SQL) at the API's default descendant depth.
/// </summary>
public static class GatewayLineageFigure
{
    private const string Host = "bench-lineage";
    private const int Processes = 1_000_000;
    private const int WarmupQueries = 200;
    private const int RandomQueries = 1_950;
    private const int DeepestQueries = 50;
    private const ulong FirstKtime = 1_000_000_000;

    public sealed record Latency(TimeSpan P50, TimeSpan P99);

    public static async Task<Latency> MeasureAsync(TestDatabase database, IProcessQueries queries, TextWriter output)
    {
        var random = new Random(5);
        // A random recursive tree (each process's parent drawn from those before it): depths ~1..35, mean ~14.
        var parents = new int[Processes];
        var depths = new int[Processes];
        parents[0] = -1;
        for (var i = 1; i < Processes; i++)
        {
            parents[i] = random.Next(i);
            depths[i] = depths[parents[i]] + 1;
        }
        // Start the host's entity (it answers "not live" to every query) before the history is loaded.
        var clock = Stopwatch.StartNew();
        if (await queries.GetLineageAsync(ExecIdOf(0), 0, CancellationToken.None) is not null)
            throw new InvalidOperationException($"{Host} has history before the lineage setup inserted it");
        output.WriteLine($"lineage setup: entity of {Host} started in {clock.Elapsed.TotalSeconds:N1} s");
        clock.Restart();
        await InsertAsync(database, Host, parents);
        output.WriteLine($"lineage setup: {Processes:N0} processes rows of {Host} bulk-inserted with SQL in one transaction in {clock.Elapsed.TotalSeconds:N1} s (max depth {depths.Max()})");

        var targets = new List<int>(RandomQueries + DeepestQueries);
        for (var i = 0; i < RandomQueries; i++) targets.Add(random.Next(Processes));
        targets.AddRange(Enumerable.Range(0, Processes).OrderByDescending(i => depths[i]).Take(DeepestQueries));
        for (var i = 0; i < WarmupQueries; i++) await LineageOf(queries, random.Next(Processes), depths);

        var latencies = new List<(int Depth, TimeSpan Elapsed)>(targets.Count);
        foreach (var target in targets)
        {
            var start = Stopwatch.GetTimestamp();
            await LineageOf(queries, target, depths);
            latencies.Add((depths[target], Stopwatch.GetElapsedTime(start)));
        }
        foreach (var (label, low, high) in new[] { ("depth 0-9", 0, 9), ("depth 10-19", 10, 19), ("depth 20+", 20, int.MaxValue) })
        {
            var bucket = latencies.Where(l => l.Depth >= low && l.Depth <= high).Select(l => l.Elapsed).ToList();
            if (bucket.Count == 0) continue;
            output.WriteLine($"GetLineage {label,-11}: {bucket.Count,5} queries  p50 {Percentile(bucket, 0.50).TotalMilliseconds,6:N2} ms  p99 {Percentile(bucket, 0.99).TotalMilliseconds,6:N2} ms");
        }
        var all = latencies.Select(l => l.Elapsed).ToList();
        return new Latency(Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static async Task LineageOf(IProcessQueries queries, int index, int[] depths)
    {
        var lineage = await queries.GetLineageAsync(ExecIdOf(index), ApiInput.DefaultDescendantDepth, CancellationToken.None)
                      ?? throw new InvalidOperationException($"GetLineage found no process {index} of {Host} ({ExecIdOf(index)})");
        if (lineage.Ancestors.Count != depths[index])
            throw new InvalidOperationException($"GetLineage of process {index} of {Host} returned {lineage.Ancestors.Count} ancestors; it has {depths[index]}");
    }

    private static string ExecIdOf(int index) => ExecIdOf(Host, index);

    internal static string ExecIdOf(string host, int index) => new ExecId(host, FirstKtime + (ulong)index * 1_000, 100 + index).Encode();

    /// <summary>Bulk-inserts exited processes of <paramref name="host"/>: process i's parent is parents[i] (-1: none).</summary>
    internal static async Task InsertAsync(TestDatabase database, string host, int[] parents)
    {
        await using var connection = new SqliteConnection(database.Settings.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO processes (exec_id, host, pid, parent_exec_id, binary_path, args, cwd, uid, start_time, exit_time, exit_code, signal)
            VALUES (@exec_id, @host, @pid, @parent_exec_id, '/usr/bin/bench', @args, '/', 1000, @start_time, @exit_time, 0, 0)
            """;
        var execId = insert.Parameters.Add("@exec_id", SqliteType.Text);
        insert.Parameters.AddWithValue("@host", host);
        var pid = insert.Parameters.Add("@pid", SqliteType.Integer);
        var parentExecId = insert.Parameters.Add("@parent_exec_id", SqliteType.Text);
        var args = insert.Parameters.Add("@args", SqliteType.Text);
        var startTime = insert.Parameters.Add("@start_time", SqliteType.Integer);
        var exitTime = insert.Parameters.Add("@exit_time", SqliteType.Integer);
        insert.Prepare();
        for (var i = 0; i < parents.Length; i++)
        {
            var start = WireConverter.ToUnixTicks(SyntheticHost.Boot.AddMilliseconds(i));
            execId.Value = ExecIdOf(host, i);
            pid.Value = 100 + i;
            parentExecId.Value = parents[i] < 0 ? DBNull.Value : ExecIdOf(host, parents[i]);
            args.Value = "--job " + i;
            startTime.Value = start;
            exitTime.Value = start + TimeSpan.TicksPerSecond;
            await insert.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    private static TimeSpan Percentile(List<TimeSpan> values, double fraction)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(fraction * sorted.Count) - 1)];
    }
}
