using System.Diagnostics;
using System.Globalization;
using Forkline.Contracts.Snapshots;
using Forkline.Forwarding;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Prometheus;

namespace Forkline.Benchmarks;

/// <summary>
/// The fleet issue's figures on one PostgreSQL server of their own, started here.
/// Ingest: two collector nodes forwarding the exec+exit events of two hosts each through two gateway
/// nodes into one database, all four nodes in this process on loopback; counted from the first event
/// handed to the forwarders until both had every event acknowledged (persisted in the journal).
/// Measured twice: right after start (a short warm-up, as this figure always was), and at steady
/// state, once warm-up rounds no longer keep the JIT busy.
/// Failover: see <see cref="FleetFailoverFigure"/>. Then the fleet simulator (<see cref="FleetSimulation"/>).
/// </summary>
/// <remarks>
/// Why two ingest figures: tiered compilation with dynamic PGO recompiles the hot path (tier 0,
/// instrumented, then tier 1) for a minute or more after start on two cores, so the first few hundred
/// thousand events cost this process two to three times the CPU they cost once it has settled. The
/// target is a fleet's sustained rate, which is the steady-state figure; the first one shows what a
/// freshly started (or failed-over) gateway does meanwhile.
/// </remarks>
public sealed class FleetFigures : IQuickFigures
{
    private const int WarmupPairsPerHost = 1_000;
    private const int MeasuredPairsPerHost = 25_000;
    private const int SettlingRoundPairsPerHost = 5_000;
    /// <summary>Two rounds in a row (40,000 events each) that need fewer new compilations than this count as settled.</summary>
    private const int SettledJitMethodsPerRound = 100;
    private static readonly TimeSpan MaxSettling = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    public string Name => "Fleet";

    public async Task RunAsync(TextWriter output)
    {
        if (LocalPostgres.Unavailable is { } problem)
        {
            output.WriteLine($"fleet figures skipped: {problem}");
            return;
        }
        output.WriteLine($"fleet on {Environment.ProcessorCount} cores: 2 collectors x 2 hosts -> 2 gateways -> PostgreSQL (local server, fsync off)");
        var table = new FiguresTable(output);
        await using var server = await LocalPostgres.StartAsync();
        using var database = new TestDatabase(server.ConnectionString);
        await using (var first = await BenchNodes.StartAsync(BenchNodes.Gateway(database, seeds: null), Patience))
        await using (var second = await BenchNodes.StartAsync(BenchNodes.Gateway(database, seeds: [first.SeedAddress]), Patience))
        await using (var collectorA = await BenchNodes.StartCollectorAsync([first.Ingest!.Address, second.Ingest!.Address]))
        await using (var collectorB = await BenchNodes.StartCollectorAsync([second.Ingest!.Address, first.Ingest!.Address]))
        {
            GatewayForwarder[] forwarders = [collectorA.Forwarder, collectorB.Forwarder];
            Describe(output, "warmup", await IngestAsync(forwarders, "warmup", WarmupPairsPerHost));
            var cold = await IngestAsync(forwarders, "cold", MeasuredPairsPerHost);
            Describe(output, "ingest right after start", cold);
            await SettleAsync(forwarders, output);
            var steady = await IngestAsync(forwarders, "steady", MeasuredPairsPerHost);
            Describe(output, "ingest at steady state", steady);
            table.Add("ingest exec+exit into PostgreSQL (2 collectors -> 2 gateways), right after start", cold.Rate, "/s", 20_000, higherIsBetter: true, hasTarget: false);
            table.Add("ingest exec+exit into PostgreSQL (2 collectors -> 2 gateways), steady state", steady.Rate, "/s", 20_000, higherIsBetter: true);
        }

        var link = new GatewayLinkSettings([]);
        output.WriteLine($"failover: gateways as `forkline gateway` processes (and one in process, watching), down-unreachable-after {FleetFailoverFigure.DownUnreachableAfter.TotalSeconds:N0} s; " +
                         $"collectors stream to the two processes, reconnect after {link.MinReconnectDelay.TotalSeconds:N1} s (jittered, doubling up to {link.MaxReconnectDelay.TotalSeconds:N0} s) and resend what is unacknowledged");
        foreach (var failover in await FleetFailoverFigure.MeasureAsync(server, output))
        {
            output.WriteLine($"failover, {failover.Killed}: {failover.MovedHosts} streamed hosts moved; after kill -9 unreachable " +
                             $"{(failover.Unreachable is { } unreachable ? unreachable.TotalSeconds.ToString("N1", CultureInfo.InvariantCulture) + " s" : "not seen")}, " +
                             $"downed {failover.Downed.TotalSeconds:N1} s, every moved host stored again {failover.AllResumed.TotalSeconds:N1} s");
            table.Add($"failover: kill -9 -> first event stored by the survivor, {failover.Killed}, down-unreachable-after {FleetFailoverFigure.DownUnreachableAfter.TotalSeconds:N0} s",
                failover.FirstStored.TotalSeconds, "s", 0, higherIsBetter: false, hasTarget: false);
        }
        await FleetSimulationFigures.AddToAsync(table, server, output);
        table.Print();
    }

    /// <param name="Cpu">CPU time of this whole process (all four nodes) while the events went through.</param>
    /// <param name="Jit">Time the JIT compiler spent meanwhile: high while the run is not yet in its steady state.</param>
    private sealed record IngestRun(int Events, TimeSpan Elapsed, TimeSpan Cpu, long AllocatedBytes, int FullCollections, TimeSpan Jit, long JitMethods)
    {
        public double Rate => Events / Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Ingest rounds until two in a row compile fewer than <see cref="SettledJitMethodsPerRound"/> methods each
    /// (one quiet round alone happens between two waves of tier-1 recompilation), or <see cref="MaxSettling"/> passes.
    /// </summary>
    private static async Task SettleAsync(GatewayForwarder[] forwarders, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        var compiledPerRound = new List<long>();
        var events = 0;
        for (var round = 1; clock.Elapsed < MaxSettling; round++)
        {
            var run = await IngestAsync(forwarders, $"settle{round}", SettlingRoundPairsPerHost);
            compiledPerRound.Add(run.JitMethods);
            events += run.Events;
            if (IsSettled(compiledPerRound)) break;
        }
        var settled = IsSettled(compiledPerRound);
        output.WriteLine($"settling: {compiledPerRound.Count} rounds, {events:N0} events in {clock.Elapsed.TotalSeconds:N0} s, " +
                         $"{(settled ? "settled" : $"NOT settled within {MaxSettling.TotalMinutes:N0} min")}; methods compiled per round: {string.Join(", ", compiledPerRound)}");
    }

    private static bool IsSettled(List<long> compiledPerRound) =>
        compiledPerRound.Count >= 2 && compiledPerRound[^1] < SettledJitMethodsPerRound && compiledPerRound[^2] < SettledJitMethodsPerRound;

    /// <remarks>CPU and allocation per event barely move with the machine's load, unlike the rate: they tell a slower run on a busy machine from a costlier pipeline.</remarks>
    private static void Describe(TextWriter output, string phase, IngestRun run) =>
        output.WriteLine($"{phase}: {run.Events:N0} events in {run.Elapsed.TotalSeconds:N1} s; this process (collectors and gateways, not PostgreSQL) used " +
                         $"{run.Cpu.TotalSeconds:N1} CPU-s, {run.Cpu.TotalMicroseconds / run.Events:N1} us and {run.AllocatedBytes / run.Events:N0} allocated bytes per event; " +
                         $"{run.FullCollections} gen 2 collections; JIT {run.Jit.TotalSeconds:N1} s ({run.JitMethods:N0} methods)");

    /// <summary>exec+exit events over both collectors, each sending two hosts' events at once, until all are acknowledged.</summary>
    private static async Task<IngestRun> IngestAsync(GatewayForwarder[] forwarders, string prefix, int pairsPerHost)
    {
        var batches = forwarders.Select((_, collector) => Enumerable.Range(0, 2)
            .SelectMany(host => PairsOf(new SyntheticHost($"{prefix}-{collector}-{host}"), pairsPerHost)).ToList()).ToList();
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var fullCollectionsBefore = GC.CollectionCount(2);
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
        var jitMethodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(forwarders.Select((forwarder, i) => Task.Run(async () =>
        {
            foreach (var enriched in batches[i]) forwarder.OnEnriched(enriched);
            forwarder.OnBatchEnd();
            if (!await forwarder.FlushAsync(Patience))
                throw new TimeoutException($"the gateways did not acknowledge {batches[i].Count:N0} events within {Patience.TotalSeconds} s");
        })));
        var elapsed = clock.Elapsed;
        process.Refresh();
        return new IngestRun(batches.Sum(b => b.Count), elapsed, process.TotalProcessorTime - cpuBefore,
            GC.GetTotalAllocatedBytes() - allocatedBefore, GC.CollectionCount(2) - fullCollectionsBefore, System.Runtime.JitInfo.GetCompilationTime() - jitBefore,
            System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethodsBefore);
    }

    private static List<EnrichedEvent> PairsOf(SyntheticHost host, int pairs)
    {
        var init = host.NewProcess(1, null, "/sbin/init");
        var events = new List<EnrichedEvent>(2 * pairs + 1) { host.Exec(init, null) };
        for (var i = 0; i < pairs; i++)
        {
            var process = host.NewProcess(10_000 + i, init, "/usr/bin/true", "--pair", i.ToString(CultureInfo.InvariantCulture));
            events.Add(host.Exec(process, init));
            events.Add(host.Exit(process, init));
        }
        return events;
    }

}
