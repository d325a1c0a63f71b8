using System.Diagnostics;
using Forkline.Contracts.Snapshots;
using Forkline.Forwarding;
using Forkline.Gateway.Tests.Support;
using Microsoft.Data.Sqlite;
using Prometheus;

namespace Forkline.Benchmarks;

/// <summary>
/// The gateway issue's figures on a temp SQLite file: a collector node forwarding to a gateway node
/// (two ActorSystems on loopback), persisted exec+exit and unpersisted hook throughput, GetLineage
/// latency over a million history rows, and replay throughput of the ingested history.
/// </summary>
public sealed class GatewayFigures : IQuickFigures
{
    private const int WarmupPairs = 2_000;
    private const int MeasuredPairs = 100_000;
    private const int WarmupHooks = 20_000;
    private const int MeasuredHooks = 300_000;
    private const string PairsHost = "bench-pairs";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public string Name => "Gateway";

    public async Task RunAsync(TextWriter output)
    {
        output.WriteLine($"gateway on {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}, SQLite (temp file)");
        var table = new FiguresTable(output);
        using var database = new TestDatabase();
        await using (var gateway = await BenchNodes.StartAsync(BenchNodes.Gateway(database, seeds: null), Patience))
        await using (var collector = await BenchNodes.StartCollectorAsync([gateway.Ingest!.Address]))
        {
            var forwarder = collector.Forwarder;
            await IngestPairs(forwarder, new SyntheticHost("bench-warmup"), WarmupPairs);
            var pairsRate = await IngestPairs(forwarder, new SyntheticHost(PairsHost), MeasuredPairs);
            var hooksRate = await ForwardHooks(forwarder);
            var dropped = collector.MetricsExport.Value("forkline_forward_dropped_total", "exec", "buffer_full")
                          + collector.MetricsExport.Value("forkline_forward_dropped_total", "exit", "buffer_full")
                          + collector.MetricsExport.Value("forkline_forward_dropped_total", "hook", "buffer_full");
            if (dropped > 0) throw new InvalidOperationException($"the forwarder dropped {dropped} events: raise MaxBufferedEvents for the figures");
            table.Add("ingest exec+exit, persisted (1 collector -> 1 gateway)", pairsRate, "/s", 10_000, higherIsBetter: true);
            table.Add("hook events forwarded (not persisted)", hooksRate, "/s", 200_000, higherIsBetter: true);

            var projected = await AwaitProjection(database, PairsHost, MeasuredPairs);
            output.WriteLine($"verified: {MeasuredPairs:N0} exited processes of {PairsHost} in the processes table after {projected.TotalSeconds:N1} s");

            var queries = gateway.Queries;
            await GatewayReplayFigure.MeasureAsync(queries, "bench-warmup", expectedEvents: 2 * WarmupPairs);
            var replayRate = await GatewayReplayFigure.MeasureAsync(queries, PairsHost, expectedEvents: 2 * MeasuredPairs);
            table.Add($"replay ({2 * MeasuredPairs:N0} persisted exec+exit)", replayRate, "/s", 100_000, higherIsBetter: true);

            var lineage = await GatewayLineageFigure.MeasureAsync(database, queries, output);
            table.Add("GetLineage p50 (1,000,000 history rows)", lineage.P50.TotalMilliseconds, "ms", 10, higherIsBetter: false, hasTarget: false);
            table.Add("GetLineage p99 (1,000,000 history rows)", lineage.P99.TotalMilliseconds, "ms", 10, higherIsBetter: false);
        }
        table.Print();
    }


    /// <summary>exec+exit events/s from the first event handed to the forwarder until the gateway acknowledged all (persisted).</summary>
    private static async Task<double> IngestPairs(GatewayForwarder forwarder, SyntheticHost host, int pairs)
    {
        var init = host.NewProcess(1, null, "/sbin/init");
        var events = new List<EnrichedEvent>(2 * pairs + 1) { host.Exec(init, null) };
        for (var i = 0; i < pairs; i++)
        {
            var process = host.NewProcess(10_000 + i, init, "/usr/bin/true", "--pair", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            events.Add(host.Exec(process, init));
            events.Add(host.Exit(process, init));
        }
        return await DeliverAsync(forwarder, events);
    }

    private static async Task<double> ForwardHooks(GatewayForwarder forwarder)
    {
        var host = new SyntheticHost("bench-hooks");
        var init = host.NewProcess(1, null, "/sbin/init");
        var worker = host.NewProcess(2, init, "/usr/bin/worker");
        List<EnrichedEvent> warmup = [host.Exec(init, null), host.Exec(worker, init)];
        for (var i = 0; i < WarmupHooks; i++) warmup.Add(host.Hook(worker, init, tid: 2 + i % 4));
        await DeliverAsync(forwarder, warmup);

        var hooks = new List<EnrichedEvent>(MeasuredHooks);
        for (var i = 0; i < MeasuredHooks; i++) hooks.Add(host.Hook(worker, init, tid: 2 + i % 4));
        return await DeliverAsync(forwarder, hooks);
    }

    private static async Task<double> DeliverAsync(GatewayForwarder forwarder, List<EnrichedEvent> events)
    {
        var clock = Stopwatch.StartNew();
        foreach (var enriched in events) forwarder.OnEnriched(enriched);
        forwarder.OnBatchEnd();
        if (!await forwarder.FlushAsync(Patience))
            throw new TimeoutException($"the gateway did not acknowledge {events.Count:N0} events within {Patience.TotalSeconds} s");
        return events.Count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Waits until the projection has written every exited process of the host; checks nothing extra was written.</summary>
    private static async Task<TimeSpan> AwaitProjection(TestDatabase database, string host, int expected)
    {
        var clock = Stopwatch.StartNew();
        await using var connection = new SqliteConnection(database.Settings.ConnectionString);
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        // init stays live: it never exits.
        count.CommandText = "SELECT COUNT(*), COUNT(exit_time) FROM processes WHERE host = @host";
        count.Parameters.AddWithValue("@host", host);
        while (true)
        {
            await using var reader = await count.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (rows, exited) = (reader.GetInt64(0), reader.GetInt64(1));
            if (exited == expected && rows == expected + 1) return clock.Elapsed;
            if (rows > expected + 1 || exited > expected)
                throw new InvalidOperationException($"the processes table holds {rows:N0} rows ({exited:N0} exited) of {host}; {expected + 1:N0} ({expected:N0} exited) were sent");
            if (clock.Elapsed > Patience)
                throw new TimeoutException($"the projection wrote {exited:N0} of {expected:N0} exited processes of {host} within {Patience.TotalSeconds} s");
            await Task.Delay(100);
        }
    }
}
