using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Api;
using Forkline.Contracts.Ingest;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Forwarding;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Forkline.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Forkline.Benchmarks;

/// <summary>
/// The fleet issue's simulator: N collectors in this process, each with its own forwarder, its own
/// stream (connection) and its own host name, against three gateways as real `forkline gateway`
/// processes (so their CPU is theirs alone, and kill -9 is real) on one PostgreSQL database. Each
/// collector trickles a synthetic host's life: a few processes a second, each an exec, two hooks and
/// an exit, and sends its run's loss accounting as a collector does (when it changed, and every minute while idle). Collectors identify by nothing (the gateways listen on loopback without TLS or tokens):
/// what is measured is the cluster's cost per client and per event, not the handshake.
/// </summary>
internal static class FleetSimulation
{
    public const int DefaultCollectors = 1_000;
    private const int HooksPerProcess = 2;
    private const double ProcessesPerSecondPerCollector = 5;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan SettleAfterStart = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan LoadWindow = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DownUnreachableAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan LineageDeadline = TimeSpan.FromSeconds(10);

    /// <param name="IdleBaselineCores">The three gateways, no collector connected (cores).</param>
    /// <param name="IdleCores">The three gateways with every collector connected and idle, the first window after they delivered (cores): it still holds the tier-1 JIT of the paths the collectors started.</param>
    /// <param name="IdleSteadyCores">The same in the window after it: the steady cost of idle collectors.</param>
    /// <param name="LoadCores">The three gateways while the collectors trickle (cores).</param>
    /// <param name="EventsPerSecond">Events acknowledged per second while trickling.</param>
    /// <param name="OfferedProcessesPerSecond">Processes handed to the collectors per second meanwhile (below the target when this process is short of CPU).</param>
    /// <param name="SimulatorCores">This process (the simulated collectors) meanwhile, in cores.</param>
    /// <param name="SendToJournalP99">From handing an exec or exit to a collector's forwarder to its journal row's insert, for those sent in the load window (before the kill).</param>
    /// <param name="DeliveringAgain">From kill -9 of a gateway until every collector had an event acknowledged after it.</param>
    /// <param name="Reconnects">Seconds after the kill at which the cut-off collectors had a stream again, sorted.</param>
    public sealed record Figures(
        int Collectors, double IdleBaselineCores, double IdleCores, double IdleSteadyCores, double LoadCores, double EventsPerSecond, double ProcessesPerSecond,
        double OfferedProcessesPerSecond, double SimulatorCores,
        TimeSpan SendToJournalP99, TimeSpan LineageP99, int LineageQueries, int LineageFailed, TimeSpan DeliveringAgain, IReadOnlyList<double> Reconnects,
        long Sent, long Missing, long Duplicated, Storage Stored);

    /// <summary>What the run left in PostgreSQL: table sizes with their indexes and TOAST, for sizing retention.</summary>
    public sealed record Storage(long JournalBytes, long StoredEvents, long HistoryBytes, long HistoryRows)
    {
        public double JournalBytesPerEvent => StoredEvents == 0 ? 0 : (double)JournalBytes / StoredEvents;

        public double HistoryBytesPerProcess => HistoryRows == 0 ? 0 : (double)HistoryBytes / HistoryRows;
    }

    private sealed class SimulatedCollector(string host, GatewayForwarder forwarder, PrometheusExport metrics)
    {
        private readonly SyntheticHost _host = new(host);
        private ProcessSnapshot? _init;
        private int _nextPid = 2;
        private long _produced;

        public string Host => host;
        public GatewayForwarder Forwarder => forwarder;
        public PrometheusExport Metrics => metrics;

        /// <summary>Starts the host (its init) and, as a collector does, the run's loss accounting.</summary>
        public ProcessSnapshot Init(List<EnrichedEvent> sent)
        {
            _init = _host.NewProcess(1, null, "/sbin/init");
            Send(_host.Exec(_init, null), sent);
            forwarder.OnBatchEnd();
            var started = DateTime.UtcNow;
            forwarder.ReportRun(host, () =>
            {
                var produced = Interlocked.Read(ref _produced);
                return new UpstreamCounts(host, "simulation", started, new SourceCounts(produced, 0, 0, 0, 0, produced),
                    new PipelineCounts(produced, 0, 0, 0, 0, produced, 0));
            });
            return _init;
        }

        /// <summary>One short-lived process: exec, hooks, exit.</summary>
        public (EnrichedExec Exec, EnrichedEvent Exit) RunProcess(List<EnrichedEvent> sent)
        {
            var pid = _nextPid++;
            var process = _host.NewProcess(pid, _init, "/usr/bin/job", pid.ToString(CultureInfo.InvariantCulture));
            var exec = _host.Exec(process, _init);
            Send(exec, sent);
            for (var i = 0; i < HooksPerProcess; i++)
            {
                Interlocked.Increment(ref _produced);
                forwarder.OnEnriched(_host.Hook(process, _init, pid));
            }
            var exit = _host.Exit(process, _init);
            Send(exit, sent);
            forwarder.OnBatchEnd();
            return (exec, exit);
        }

        private void Send(EnrichedEvent enriched, List<EnrichedEvent> sent)
        {
            Interlocked.Increment(ref _produced);
            forwarder.OnEnriched(enriched);
            sent.Add(enriched);
        }
    }

    /// <param name="forwarding">Each simulated collector's forwarder, as a collector node's (its report cadence above all).</param>
    public static async Task<Figures> MeasureAsync(LocalPostgres server, int collectorCount, ForwarderSettings forwarding, TextWriter output)
    {
        using var database = new TestDatabase(server.ConnectionString);
        int[] ports = [TestNodes.FreePort(), TestNodes.FreePort(), TestNodes.FreePort()];
        var seeds = ports.Select(port => GatewaySettings.SeedAddress("127.0.0.1", port)).ToArray();
        var gateways = new List<GatewayProcess>();
        for (var g = 0; g < ports.Length; g++)
            gateways.Add(GatewayProcess.Start($"sim-gateway-{g + 1}", ports[g], TestNodes.FreePort(), seeds, database.Settings, DownUnreachableAfter, database.Path));
        // The simulated collectors share one actor system, set up as a collector node's is.
        using var host = await NodeHost.StartAsync(NodeHost.CreateBuilder(null).AddActorSystem("forkline-simulation", "ERROR"), CancellationToken.None);
        var system = host.Services.GetRequiredService<ActorSystem>();
        var collectorMetrics = new List<PrometheusExport>(collectorCount);
        try
        {
            await Task.WhenAll(gateways.Select(TakesStreamsAsync));
            // A gateway's first seconds are its start (cluster formation, shard coordinator, projection, JIT), not its idle cost.
            await Task.Delay(SettleAfterStart);
            var idleBaseline = await CoresAsync(gateways, IdleWindow);
            output.WriteLine($"simulation: 3 gateways Up; idle with no collector: {100 * idleBaseline:N2} % of a core; {LoadAverage()}");

            var addresses = gateways.Select(g => g.IngestAddress).ToList();
            var collectors = new List<SimulatedCollector>(collectorCount);
            for (var c = 0; c < collectorCount; c++)
            {
                var metrics = new PrometheusExport(Metrics.NewCustomRegistry());
                collectorMetrics.Add(metrics);
                var link = new GatewayLinkSettings(addresses);
                var forwarder = GatewayForwarder.Start(system, new ForwarderDelivery.OverGrpc(link), forwarding, new ForwarderMetrics(metrics.Meters), $"collector-{c}");
                collectors.Add(new SimulatedCollector($"sim-{c:D5}", forwarder, metrics));
            }
            var connecting = Stopwatch.StartNew();
            await TestNodes.EventuallyAsync(() => Task.FromResult(collectors.All(c => Count(c, "connected") >= 1)), $"all {collectorCount} collectors stream", Patience);
            output.WriteLine($"simulation: {collectorCount} collectors connected in {connecting.Elapsed.TotalSeconds:N1} s");

            var sent = new List<EnrichedEvent>();
            var inits = collectors.Select(c => c.Init(sent)).ToList();
            await FlushAllAsync(collectors);
            // Each host's entity is started (recovered) by its first batch: idle means every collector has delivered once.
            await Task.Delay(TimeSpan.FromSeconds(5));
            var idle = await CoresAsync(gateways, IdleWindow);
            output.WriteLine($"simulation: idle with {collectorCount} collectors connected: {100 * idle:N2} % of a core (3 gateways together); {LoadAverage()}");
            // Profiled (perf), the first window was mostly the runtime's tier-1 recompilation of the paths the
            // collectors' streams and reports had just started: the second is what idle collectors cost.
            var idleSteady = await CoresAsync(gateways, IdleWindow);
            output.WriteLine($"simulation: idle with {collectorCount} collectors connected, the next {IdleWindow.TotalSeconds:N0} s: {100 * idleSteady:N2} % of a core; {LoadAverage()}");

            // Load: every collector runs ProcessesPerSecondPerCollector processes a second, spread over the ticks.
            var trickle = new Trickle(collectors);
            using var trickling = new CancellationTokenSource();
            var trickleRun = Task.Run(() => trickle.RunAsync(trickling.Token));
            // Lineage is measured while the cluster ingests with all its gateways, not across the kill below.
            using var querying = new CancellationTokenSource();
            var lineage = Task.Run(() => QueryLineageAsync(gateways[0].ApiGrpcAddress, trickle.ExecIds, querying.Token));
            await Task.Delay(TimeSpan.FromSeconds(5));
            var acknowledgedBefore = collectors.Sum(c => c.Metrics.Value("forkline_forward_acknowledged_total"));
            var offeredBefore = trickle.Processes;
            var simulatorBefore = SimulatorCpu();
            var loadClock = Stopwatch.StartNew();
            var loadStartTicks = DateTime.UtcNow.Ticks;
            var load = await CoresAsync(gateways, LoadWindow);
            var acknowledged = collectors.Sum(c => c.Metrics.Value("forkline_forward_acknowledged_total")) - acknowledgedBefore;
            var loadSeconds = loadClock.Elapsed.TotalSeconds;
            var eventsPerSecond = acknowledged / loadSeconds;
            var offeredPerSecond = (trickle.Processes - offeredBefore) / loadSeconds;
            var simulatorCores = (SimulatorCpu() - simulatorBefore).TotalSeconds / loadSeconds;
            output.WriteLine($"simulation: trickling {LoadWindow.TotalSeconds:N0} s: {offeredPerSecond:N0} processes/s handed to the collectors " +
                             $"(target {collectorCount * ProcessesPerSecondPerCollector:N0}), {eventsPerSecond:N0} events/s acknowledged; gateways {100 * load:N1} % of a core, " +
                             $"this simulator {100 * simulatorCores:N0} %; {LoadAverage()}");
            await querying.CancelAsync();
            var lineageFigures = await lineage.WaitAsync(LineageDeadline + TimeSpan.FromSeconds(5));

            // Failover under load: kill -9 of the last gateway (not the seed the cluster formed on).
            if (gateways.FirstOrDefault(g => g.Pid is null) is { } gone)
                throw new InvalidOperationException($"{gone.Name} stopped before the kill: downed by the others (a CPU-starved node misses heartbeats) or crashed; see its log");
            var victim = gateways[^1];
            // Scraped first: a loaded gateway takes seconds to render /metrics, and the counts below must be those of the kill.
            var survivors = gateways.Where(g => g != victim).ToList();
            var recoveredBefore = await RecoveriesAsync(survivors);
            var lostBefore = collectors.Select(c => Count(c, "lost")).ToArray();
            var connectedBefore = collectors.Select(c => Count(c, "connected")).ToArray();
            var acksBefore = collectors.Select(c => c.Metrics.Value("forkline_forward_acknowledged_total")).ToArray();
            var sinceKill = Stopwatch.StartNew();
            var killTicks = DateTime.UtcNow.Ticks;
            victim.KillHard();
            var reconnectedAt = new double?[collectors.Count];
            var deliveringAt = new double?[collectors.Count];
            // What each collector saw after the kill, for the last ones to deliver again: where their wait went.
            var timelines = collectors.Select(_ => new List<string>()).ToArray();
            var lastSeen = collectors.Select((c, i) => (Acked: acksBefore[i], Retries: c.Metrics.Value("forkline_forward_retries_total"), Connected: connectedBefore[i], Lost: lostBefore[i])).ToArray();
            while (deliveringAt.Any(d => d is null))
            {
                if (sinceKill.Elapsed > Patience)
                {
                    // What the stuck ones were doing: their shard, whether they stream, and what the survivors' ingest counted.
                    var stuckShards = new HostMessageExtractor(new ClusterSettings().Shards);
                    foreach (var c in Enumerable.Range(0, collectors.Count).Where(c => deliveringAt[c] is null))
                        output.WriteLine($"simulation: stuck {collectors[c].Host} (shard {stuckShards.ShardId(collectors[c].Host)}): " +
                                         $"connected {Count(collectors[c], "connected") - connectedBefore[c]:N0} and lost {Count(collectors[c], "lost") - lostBefore[c]:N0} times since the kill, " +
                                         $"acknowledged {collectors[c].Metrics.Value("forkline_forward_acknowledged_total") - acksBefore[c]:N0}, " +
                                         $"buffered {collectors[c].Metrics.Value("forkline_forward_buffered_events"):N0}, retries {collectors[c].Metrics.Value("forkline_forward_retries_total"):N0}");
                    foreach (var survivor in survivors)
                        output.WriteLine($"simulation: {survivor.Name} ingest: " + await IngestSummaryAsync(survivor));
                    throw new TimeoutException($"{deliveringAt.Count(d => d is null)} collectors had nothing acknowledged within {Patience.TotalSeconds} s of the kill");
                }
                for (var c = 0; c < collectors.Count; c++)
                {
                    var seen = (Acked: collectors[c].Metrics.Value("forkline_forward_acknowledged_total"), Retries: collectors[c].Metrics.Value("forkline_forward_retries_total"),
                        Connected: Count(collectors[c], "connected"), Lost: Count(collectors[c], "lost"));
                    if (seen != lastSeen[c] && deliveringAt[c] is null)
                        timelines[c].Add($"{sinceKill.Elapsed.TotalSeconds:N1} s: acked +{seen.Acked - lastSeen[c].Acked:N0}, resent +{seen.Retries - lastSeen[c].Retries:N0}, " +
                                         $"connected +{seen.Connected - lastSeen[c].Connected:N0}, lost +{seen.Lost - lastSeen[c].Lost:N0}");
                    lastSeen[c] = seen;
                    if (reconnectedAt[c] is null && Count(collectors[c], "lost") > lostBefore[c] && Count(collectors[c], "connected") > connectedBefore[c])
                        reconnectedAt[c] = sinceKill.Elapsed.TotalSeconds;
                    if (deliveringAt[c] is null && collectors[c].Metrics.Value("forkline_forward_acknowledged_total") > acksBefore[c] + 1)
                        deliveringAt[c] = sinceKill.Elapsed.TotalSeconds;
                }
                await Task.Delay(50);
            }
            var reconnects = reconnectedAt.Where(r => r is not null).Select(r => r!.Value).Order().ToList();
            if (reconnects.Count == 0)
                throw new InvalidOperationException($"no collector streamed to {victim.Name}, so its kill moved nothing and the failover figure would mean nothing: it was not an Up member when the collectors connected (a starved machine); see its log");
            output.WriteLine($"simulation: kill -9 of {victim.Name} (down-unreachable-after {DownUnreachableAfter.TotalSeconds:N0} s, down-removal-margin " +
                             $"{new ClusterSettings().DownRemovalMargin.TotalSeconds:N0} s, the default): {reconnects.Count} collectors moved; every collector delivering again after {deliveringAt.Max():N1} s; {LoadAverage()}");
            // Apart: a moved collector waits for a new stream too, one that stayed only for its host's shard to move.
            output.WriteLine($"simulation: delivering again, collectors that moved: {Spread(deliveringAt.Where((_, c) => reconnectedAt[c] is not null))}; " +
                             $"that kept their stream: {Spread(deliveringAt.Where((_, c) => reconnectedAt[c] is null))}");
            // The hosts of one shard come back together: when each shard of the killed gateway started elsewhere.
            var shards = new HostMessageExtractor(new ClusterSettings().Shards);
            var lateShards = Enumerable.Range(0, collectors.Count).Where(c => deliveringAt[c] > 5)
                .GroupBy(c => shards.ShardId(collectors[c].Host))
                .Select(g => (Shard: g.Key, Hosts: g.Count(), First: g.Min(c => deliveringAt[c]!.Value), Last: g.Max(c => deliveringAt[c]!.Value)))
                .OrderBy(g => g.First).ToList();
            output.WriteLine($"simulation: shards that moved, as their hosts delivered again: " +
                             string.Join(", ", lateShards.Select(g => $"{g.Shard} {g.First:N1}-{g.Last:N1} s ({g.Hosts})")));
            // A collector gives up a stream that answered nothing for GatewayLinkSettings.AnswerTimeout: under this load, a sign of
            // gateways slower than their ask timeout (a stream of the killed gateway breaks at once instead).
            output.WriteLine($"simulation: streams given up for answering nothing within {new GatewayLinkSettings([]).AnswerTimeout.TotalSeconds:N0} s: {collectors.Sum(c => Count(c, "unanswered")):N0}");
            output.WriteLine($"simulation: collectors delivering again by 5 s after the kill: {string.Join(", ", deliveringAt.GroupBy(d => (int)(d!.Value / 5)).OrderBy(g => g.Key).Select(g => $"{5 * g.Key}-{5 * g.Key + 5} s {g.Count()}"))}");
            foreach (var c in Enumerable.Range(0, collectors.Count).OrderByDescending(c => deliveringAt[c]).Take(6))
                output.WriteLine($"simulation: late {collectors[c].Host} (shard {shards.ShardId(collectors[c].Host)}, delivering again at {deliveringAt[c]:N1} s): {string.Join("; ", timelines[c])}");
            foreach (var survivor in survivors)
                output.WriteLine($"simulation: {survivor.Name} ingest: " + await IngestSummaryAsync(survivor));
            var recovered = await RecoveriesAsync(survivors) - recoveredBefore;
            output.WriteLine($"simulation: the survivors recovered {recovered.Entities:N0} host entities meanwhile, {recovered.Seconds / Math.Max(1, recovered.Entities):N2} s " +
                             $"and {recovered.Entries / Math.Max(1, recovered.Entities):N0} journal entries each on average (start to end of replay: what a moved host waits)");
            foreach (var survivor in gateways.Where(g => g != victim && g.Pid is null))
                output.WriteLine($"simulation: NOTE {survivor.Name} left the cluster too (downed: a CPU-starved gateway misses heartbeats), so this is not the figure of one gateway's loss");

            await Task.Delay(TimeSpan.FromSeconds(3));
            await trickling.CancelAsync();
            await trickleRun;
            await FlushAllAsync(collectors);

            var journal = await JournalAsync(database);
            var delays = new List<long>();
            foreach (var (eventId, created) in journal.FirstCreated)
                // The sustained figure: what was sent in the load window, with every gateway up (not the failover's backlog).
                if (trickle.SentAt.TryGetValue(eventId, out var sentTicks) && sentTicks >= loadStartTicks && sentTicks < killTicks)
                    delays.Add(created - sentTicks);
            delays.Sort();
            var sentIds = sent.Concat(trickle.Sent).Where(e => e is not EnrichedHook).Select(WireConverter.EventIdOf).ToHashSet();
            var missing = sentIds.Count(id => !journal.FirstCreated.ContainsKey(id));
            return new Figures(collectorCount, idleBaseline, idle, idleSteady, load, eventsPerSecond, eventsPerSecond / (2 + HooksPerProcess),
                offeredPerSecond, simulatorCores,
                TimeSpan.FromTicks(Percentile(delays, 0.99)), lineageFigures.P99, lineageFigures.Queries, lineageFigures.Failed, TimeSpan.FromSeconds(deliveringAt.Max()!.Value), reconnects,
                sentIds.Count, missing, journal.Duplicated, await StorageAsync(database, journal.FirstCreated.Count));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or RpcException)
        {
            foreach (var gateway in gateways)
                output.WriteLine($"--- {gateway.Name} ({(gateway.Pid is null ? "NOT running: killed, or it left the cluster (downed)" : "running")}) ---\n{gateway.LogTail(shown: IsTelling)}");
            throw;
        }
        finally
        {
            await system.Terminate();
            // FORKLINE_SIM_LOGS=DIR keeps the gateways' logs (they go with the database's folder otherwise).
            if (Environment.GetEnvironmentVariable("FORKLINE_SIM_LOGS") is { Length: > 0 } keep)
            {
                Directory.CreateDirectory(keep);
                foreach (var gateway in gateways)
                    if (File.Exists(gateway.LogPath)) File.Copy(gateway.LogPath, Path.Combine(keep, Path.GetFileName(gateway.LogPath)), overwrite: true);
            }
            foreach (var metrics in collectorMetrics) metrics.Dispose();
            foreach (var gateway in gateways) await gateway.DisposeAsync();
        }
    }

    /// <summary>A survivor's ingest and cluster metrics for the stuck collectors' report, or why there are none.</summary>
    private static async Task<string> IngestSummaryAsync(GatewayProcess gateway)
    {
        if (gateway.Pid is null) return "NOT running (downed, or it left the cluster)";
        try
        {
            return string.Join(", ", (await Scraper.GetStringAsync($"http://127.0.0.1:{gateway.ApiHttpPort}/metrics")).Split('\n')
                .Where(line => line.StartsWith("forkline_ingest_messages_total{", StringComparison.Ordinal) || line.StartsWith("forkline_cluster_", StringComparison.Ordinal)));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // A wedged survivor is itself the finding: its log follows with the timeout's.
            return $"/metrics did not answer ({e.GetType().Name}: {e.Message})";
        }
    }

    /// <summary>Log lines worth showing on failure: not each stream's "request stream aborted" when a gateway stops.</summary>
    private static bool IsTelling(string line) => !line.Contains("Grpc.AspNetCore.Server.ServerCallHandler", StringComparison.Ordinal);

    private static readonly HttpClient Scraper = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Host entity recoveries so far, summed over the gateways' /metrics.</summary>
    private static async Task<Recoveries> RecoveriesAsync(IEnumerable<GatewayProcess> gateways)
    {
        var sum = new Recoveries(0, 0, 0);
        foreach (var gateway in gateways)
        {
            var page = await Scraper.GetStringAsync($"http://127.0.0.1:{gateway.ApiHttpPort}/metrics");
            sum += new Recoveries(Sample(page, "forkline_host_recoveries_total"), Sample(page, "forkline_host_recovery_seconds_total"),
                Sample(page, "forkline_host_recovery_entries_total"));
        }
        return sum;
    }

    private static double Sample(string page, string name)
    {
        foreach (var line in page.Split('\n'))
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
                return double.Parse(line.AsSpan(name.Length + 1), CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"{name} is not on the gateway's /metrics");
    }

    private readonly record struct Recoveries(double Entities, double Seconds, double Entries)
    {
        public static Recoveries operator +(Recoveries a, Recoveries b) => new(a.Entities + b.Entities, a.Seconds + b.Seconds, a.Entries + b.Entries);
        public static Recoveries operator -(Recoveries a, Recoveries b) => new(a.Entities - b.Entities, a.Seconds - b.Seconds, a.Entries - b.Entries);
    }

    private static TimeSpan SimulatorCpu()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>The machine's load average: the figures of a shared machine are only as good as its quiet.</summary>
    public static string LoadAverage() => "load average " + string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ')[..3]);

    private static double Count(SimulatedCollector collector, string linkEvent) => collector.Metrics.Value("forkline_forward_link_changes_total", linkEvent);

    /// <summary>
    /// Every collector runs <see cref="ProcessesPerSecondPerCollector"/> processes a second by the wall clock: a tick
    /// that comes late (this process short of CPU) runs what the missed ones owed, up to a second's worth, so the offered
    /// rate is the target unless this process cannot keep up, which <see cref="Trickle.Processes"/> shows.
    /// </summary>
    private sealed class Trickle(List<SimulatedCollector> collectors)
    {
        private long _processes;

        public List<EnrichedEvent> Sent { get; } = [];

        /// <summary>Send time of each exec and exit (DateTime ticks), by event id; read once the trickle stopped.</summary>
        public Dictionary<string, long> SentAt { get; } = [];

        /// <summary>Exec ids of the processes run so far; lock it to read.</summary>
        public List<string> ExecIds { get; } = [];

        /// <summary>Processes handed to the collectors so far, all collectors together.</summary>
        public long Processes => Interlocked.Read(ref _processes);

        public async Task RunAsync(CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            var perCollector = 0L;
            using var ticks = new PeriodicTimer(Tick);
            while (await ticks.WaitForNextTickAsync(CancellationToken.None) && !ct.IsCancellationRequested)
            {
                var due = (long)(clock.Elapsed.TotalSeconds * ProcessesPerSecondPerCollector) - perCollector;
                perCollector += due;
                // Short of CPU, this process would owe more with every tick: what is over a second behind is not run at all.
                due = Math.Min(due, (long)ProcessesPerSecondPerCollector);
                foreach (var collector in collectors)
                    for (var p = 0; p < due; p++)
                    {
                        var sentAt = DateTime.UtcNow.Ticks;
                        var (exec, exit) = collector.RunProcess(Sent);
                        SentAt[WireConverter.EventIdOf(exec)] = sentAt;
                        SentAt[WireConverter.EventIdOf(exit)] = sentAt;
                        lock (ExecIds) ExecIds.Add(exec.Process.ExecId.Encode());
                    }
                Interlocked.Add(ref _processes, due * collectors.Count);
            }
        }
    }

    /// <summary>
    /// GetLineage of recently sent processes, one query after another, until cancelled: p99 over all of them
    /// and how many failed (an error other than NotFound, e.g. the gateway's deadline).
    /// </summary>
    private static async Task<(TimeSpan P99, int Queries, int Failed)> QueryLineageAsync(Uri api, List<string> execIds, CancellationToken ct)
    {
        using var channel = GrpcChannel.ForAddress(api);
        var client = new ForklineApi.ForklineApiClient(channel);
        var latencies = new List<long>();
        var failed = 0;
        while (!ct.IsCancellationRequested)
        {
            string? execId;
            lock (execIds) execId = execIds.Count == 0 ? null : execIds[Random.Shared.Next(execIds.Count)];
            if (execId is null)
            {
                await Task.Delay(100, CancellationToken.None);
                continue;
            }
            var clock = Stopwatch.StartNew();
            try
            {
                await client.GetLineageAsync(new GetLineageRequest { ExecId = execId, DescendantDepth = 0 }, deadline: DateTime.UtcNow + LineageDeadline);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // Sent but not stored yet: the query still measured the gateway's answer time.
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                failed++;
            }
            latencies.Add(clock.Elapsed.Ticks);
            await Task.Delay(20, CancellationToken.None);
        }
        latencies.Sort();
        return (TimeSpan.FromTicks(Percentile(latencies, 0.99)), latencies.Count, failed);
    }

    private static async Task FlushAllAsync(List<SimulatedCollector> collectors)
    {
        var flushed = await Task.WhenAll(collectors.Select(c => c.Forwarder.FlushAsync(Patience)));
        var unflushed = flushed.Count(f => !f);
        if (unflushed > 0) throw new TimeoutException($"{unflushed} collectors still hold unacknowledged events after {Patience.TotalSeconds} s");
    }

    /// <summary>A gateway takes a stream only once it is an Up member: its response headers say so.</summary>
    private static async Task TakesStreamsAsync(GatewayProcess gateway)
    {
        using var channel = GrpcChannel.ForAddress(gateway.IngestAddress);
        var client = new ForklineIngest.ForklineIngestClient(channel);
        await TestNodes.EventuallyAsync(async () =>
        {
            using var call = client.Ingest();
            try
            {
                await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(5));
                return true;
            }
            catch (Exception e) when (e is RpcException or TimeoutException)
            {
                await Task.Delay(200);
                return false;
            }
        }, $"{gateway.Name} takes streams", Patience);
    }

    /// <summary>CPU the gateway processes used over <paramref name="window"/>, in cores (1.0 = one core busy).</summary>
    private static async Task<double> CoresAsync(List<GatewayProcess> gateways, TimeSpan window)
    {
        var before = gateways.Sum(CpuSeconds);
        var clock = Stopwatch.StartNew();
        await Task.Delay(window);
        return (gateways.Sum(CpuSeconds) - before) / clock.Elapsed.TotalSeconds;
    }

    /// <summary>utime + stime of a running process from /proc (clock ticks of 1/100 s); 0 once it is gone.</summary>
    private static double CpuSeconds(GatewayProcess gateway)
    {
        if (gateway.Pid is not { } pid) return 0;
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return 0;
        }
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ": state is field 3, utime 14, stime 15 (1-based) -> indexes 11 and 12 here.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private sealed record Journal(Dictionary<string, long> FirstCreated, long Duplicated);

    private static async Task<Storage> StorageAsync(TestDatabase database, long storedEvents)
    {
        await using var connection = await database.Settings.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT pg_total_relation_size('journal'), pg_total_relation_size('processes'), (SELECT count(*) FROM processes)";
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Storage(reader.GetInt64(0), storedEvents, reader.GetInt64(1), reader.GetInt64(2));
    }

    private static async Task<Journal> JournalAsync(TestDatabase database)
    {
        await using var connection = await database.Settings.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT created, message FROM journal WHERE persistence_id LIKE @id AND manifest = 'jh'";
        var id = command.CreateParameter();
        id.ParameterName = "@id";
        id.Value = HostTreeEntity.PersistenceIdOf("sim-%");
        command.Parameters.Add(id);
        var first = new Dictionary<string, long>();
        var duplicated = 0L;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var created = reader.GetInt64(0);
            foreach (var wire in HostEventsPersisted.Parser.ParseFrom((byte[])reader[1]).Events)
                if (!first.TryAdd(wire.EventId, created)) duplicated++;
        }
        return new Journal(first, duplicated);
    }

    /// <summary>Seconds after the kill, as p50 / p90 / max.</summary>
    private static string Spread(IEnumerable<double?> seconds)
    {
        var sorted = seconds.Select(s => s!.Value).Order().ToList();
        return sorted.Count == 0 ? "none" : $"p50 {sorted[sorted.Count / 2]:N1} s, p90 {sorted[(int)(sorted.Count * 0.9)]:N1} s, max {sorted[^1]:N1} s";
    }

    private static long Percentile(List<long> sorted, double quantile) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];
}
