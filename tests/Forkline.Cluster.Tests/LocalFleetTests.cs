using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Forkline.Contracts.Api;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Tests.Support;
using Forkline.Kernel.Tests;
using Forkline.Kernel.Tests.Pipeline;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// The fleet a user starts with <c>deploy/local/fleet up</c> (PostgreSQL, 2 gateways, a BPF collector
/// watching this machine, a collector replaying a capture), with gateway-2 killed by SIGKILL while
/// both collectors stream, and started again. What was sent is known independently of the fleet:
/// for this machine, marked process chains this test runs; for the replayed host, the capture file.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class LocalFleetTests(ITestOutputHelper output)
{
    /// <summary>
    /// The replay lasts as long as the recording. It must outlast up's own start, the streaming before the
    /// kill and the survivor's takeover (15-20 s here), so that the replayed host is in flight at the kill too.
    /// </summary>
    private const int CaptureSeconds = 50;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StreamingBeforeKill = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan StreamingAfterRejoin = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan ChainPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    [LocalFleetFact]
    public async Task A_gateway_killed_while_both_collectors_stream_and_started_again_leaves_every_exec_and_exit_stored_exactly_once()
    {
        var clock = Stopwatch.StartNew();
        await using var fleet = await LocalFleet.UpAsync(CaptureSeconds, output.WriteLine);
        output.WriteLine($"fleet up after {clock.Elapsed.TotalSeconds:F0} s (ports {fleet.PortBase + 1}..., folder {fleet.Directory})");
        try
        {
            await StreamThroughAKillAndCheckAsync(fleet);
        }
        catch
        {
            output.WriteLine(fleet.LogTails());
            throw;
        }
    }

    private async Task StreamThroughAKillAndCheckAsync(LocalFleet fleet)
    {
        var api = fleet.Api;
        // collector-1 names this machine as the process actors do by default; this test's own exec_id is built with it.
        Assert.Equal(Dns.GetHostName(), api.KernelHost);
        var history = new PersistedHistory(fleet.Database);
        await TestNodes.EventuallyAsync(async () => (await HostsWritingAfterAsync(history, 0)).Count == 2,
            "both collectors deliver: both hosts have journal entries", Patience);

        var markerPrefix = "forkline-fleet-" + Guid.NewGuid().ToString("N")[..8];
        using var stopChains = new CancellationTokenSource();
        var chainsRun = MarkedShellChains.RunUntilStoppedAsync(markerPrefix, ChainPause, stopChains.Token);
        await Task.Delay(StreamingBeforeKill);

        var killTicks = DateTime.UtcNow.Ticks;
        var sinceKill = Stopwatch.StartNew();
        await fleet.KillAsync(LocalFleet.Gateway2);
        // The failover: the survivor's split-brain resolver downs the killed gateway and its shards move.
        // Only then does gateway-2 come back, as its service manager would bring it back after a crash.
        await TestNodes.EventuallyAsync(async () => await GatewaysUpAsync(api) == 1, "the surviving gateway has downed the killed one", Patience);
        output.WriteLine($"gateway-2 downed {sinceKill.Elapsed.TotalSeconds:F1} s after kill -9");
        // Each host is written again once a gateway serves it: at once for a host on the survivor, after
        // recovery on the survivor for a host whose entity lived on the killed gateway.
        await TestNodes.EventuallyAsync(async () => (await HostsWritingAfterAsync(history, killTicks)).Count == 2,
            "both hosts are written to the journal again after the kill (the replayed host is still streaming, and the survivor serves both)", Patience);
        foreach (var (host, firstTicks) in await history.FirstWritesAfterAsync(killTicks, "%"))
            output.WriteLine($"{host}: first journal write {TimeSpan.FromTicks(firstTicks - killTicks).TotalSeconds:F1} s after kill -9");

        var restartTicks = DateTime.UtcNow.Ticks;
        await fleet.StartAsync(LocalFleet.Gateway2);
        await TestNodes.EventuallyAsync(async () => await GatewaysUpAsync(api) == 2, "gateway-1 sees gateway-2 Up again", Patience);
        output.WriteLine($"gateway-2 Up again {sinceKill.Elapsed.TotalSeconds:F1} s after kill -9");
        await Task.Delay(StreamingAfterRejoin);
        await stopChains.CancelAsync();
        var chains = await chainsRun;
        var before = chains.Count(c => c.StartedUtc.Ticks < killTicks);
        var outage = chains.Count(c => c.StartedUtc.Ticks >= killTicks && c.StartedUtc.Ticks < restartTicks);
        output.WriteLine($"marked chains: {chains.Count} ({before} before the kill, {outage} while gateway-2 was down, {chains.Count - before - outage} after)");
        Assert.True(before > 0 && outage > 0 && chains.Count - before - outage > 0, "chains ran before, during and after the outage");

        await WaitForDeliveryAsync(fleet, history, chains);
        var journaledFirst = await history.JournaledEventsAsync("%");
        var lastOrdering = journaledFirst.Max(e => e.Ordering);
        await TestNodes.EventuallyAsync(async () => await history.ProjectedUpToAsync() >= lastOrdering,
            $"the projection applies the journal up to ordering {lastOrdering}", Patience);
        var projected = await history.ProjectedProcessesAsync("%");
        var journaled = await history.JournaledEventsAsync("%");

        ReportHostMoves(journaled, killTicks);
        await CheckCollectorsDroppedNothingAsync(api);
        AssertNone(StoredTwice(journaled), "events stored twice in the journal");
        AssertNone(ProjectionMismatches(journaledFirst, projected, journaled), "differences between journal and projection");
        AssertNone(MarkedChainProblems(chains, journaled, projected, ThisProcess.ExecId(api.KernelHost)), "problems with the marked chains' processes");
        output.WriteLine($"{api.KernelHost}: {chains.Count} marked chains = {chains.Count * MarkedShellChains.ProcessesPerChain} processes, " +
                         $"{chains.Count * MarkedShellChains.EventsPerChain} exec/clone/exit events each found once in the journal and once in the projection");
        await CheckReplayedHostAsync(fleet, journaled);
        await CheckLineageThroughTheCliAsync(api, chains.First(c => c.StartedUtc.Ticks >= killTicks), journaled);
        await CheckLossAccountingThroughTheCliAsync(fleet);
    }

    /// <summary>
    /// Stopped gracefully, each collector sends its run's final loss report: through the kill and the
    /// restart, every event each run produced must have reached one counted end (`forkline stats` exits 0
    /// only when every stopped run balances), and every acknowledged exec/exit/clone must be in the journal.
    /// </summary>
    private async Task CheckLossAccountingThroughTheCliAsync(LocalFleet fleet)
    {
        var api = fleet.Api;
        foreach (var (collector, host) in new[] { (LocalFleet.Collector1, api.KernelHost), (LocalFleet.Collector2, api.ReplayHost) })
        {
            await fleet.StopAsync(collector);
            var result = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["stats", "--host", host], CliTimeout, api.ClientEnvironment);
            output.WriteLine(result.Output);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("stopped", result.Output);
            Assert.Contains("balanced: every produced event is accounted for", result.Output);
        }
    }

    /// <summary>Gateways Up as gateway-1 (never killed here) sees them: collectors are clients, not members, and see no membership.</summary>
    private static async Task<int> GatewaysUpAsync(FleetApi api)
    {
        using var authority = X509CertificateLoader.LoadCertificateFromFile(api.ClientEnvironment["FORKLINE_CA"]);
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(authority);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(certificate);
            },
        };
        using var http = new HttpClient(handler);
        // A fleet gateway's /metrics names hosts and runs: it answers only to a read-only or admin token.
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.ClientEnvironment["FORKLINE_TOKEN"]);
        var page = await http.GetStringAsync(new Uri(new Uri(api.Http[LocalFleet.Gateway1]), "/metrics"));
        return (int)SumOf(page, "forkline_cluster_members{role=\"gateway\",status=\"up\"}");
    }

    private static async Task<HashSet<string>> HostsWritingAfterAsync(PersistedHistory history, long ticks) =>
        (await history.FirstWritesAfterAsync(ticks, "%")).Select(write => write.Host).ToHashSet();

    /// <summary>
    /// The replay has ended, and both collectors hold nothing unacknowledged (the forwarder retries
    /// unacknowledged batches, so this is also when a retried duplicate would have arrived) once the
    /// last chain's events are stored. Waiting ends there or at the patience; the checks say what is missing.
    /// </summary>
    private async Task WaitForDeliveryAsync(LocalFleet fleet, PersistedHistory history, List<MarkedChain> chains)
    {
        await TestNodes.EventuallyAsync(() => Task.FromResult(fleet.LogOf(LocalFleet.Collector2).Contains(" ended; waiting for Ctrl-C", StringComparison.Ordinal)),
            "collector-2 has replayed the whole capture", TimeSpan.FromSeconds(CaptureSeconds) + Patience);
        var lastShell = chains[^1].ShellPid;
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            var buffered = 0.0;
            foreach (var metrics in fleet.Api.CollectorMetrics.Values) buffered += await MetricAsync(metrics, "forkline_forward_buffered_events");
            var lastShellExited = (await history.JournaledEventsAsync(fleet.Api.KernelHost))
                .Any(e => e.Event.Kind == WireEventKind.Exit && e.Event.Process.Pid == lastShell && e.Event.Process.Arguments.Contains(chains[^1].Marker));
            if (buffered == 0 && lastShellExited) return;
            await Task.Delay(500);
        }
        output.WriteLine($"collectors still hold unacknowledged events or the last chain is not stored after {Patience.TotalSeconds} s; checking what is stored");
    }

    private void ReportHostMoves(List<JournaledEvent> journaled, long killTicks)
    {
        foreach (var host in journaled.GroupBy(e => e.Host))
        {
            var writersBefore = host.Where(e => e.CreatedTicks <= killTicks).Select(e => e.Writer).ToHashSet();
            var newWriters = host.Where(e => e.CreatedTicks > killTicks).Select(e => e.Writer).Distinct().Count(w => !writersBefore.Contains(w));
            output.WriteLine($"{host.Key}: {host.Count()} events journaled; after the kill written by {newWriters} gateway journal(s) that had not written it before" +
                             (newWriters > 0 ? " (its entity moved)" : ""));
        }
    }

    private async Task CheckCollectorsDroppedNothingAsync(FleetApi api)
    {
        foreach (var (collector, metrics) in api.CollectorMetrics.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var dropped = await MetricAsync(metrics, "forkline_forward_dropped_total");
            output.WriteLine($"{collector}: acknowledged {await MetricAsync(metrics, "forkline_forward_acknowledged_total")}, " +
                             $"retried {await MetricAsync(metrics, "forkline_forward_retries_total")}, dropped {dropped}, " +
                             $"lost in BPF {await MetricAsync(metrics, "forkline_bpf_lost_events_total")}");
            Assert.True(dropped == 0, $"{collector}'s forwarder dropped {dropped} events");
        }
    }

    /// <summary>Events a host entity persisted more than once: an event id names one exec, exit or clone of one process.</summary>
    private static List<string> StoredTwice(List<JournaledEvent> journaled) =>
        journaled.GroupBy(e => e.Event.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} stored {g.Count()} times (journal orderings {string.Join(", ", g.Select(e => e.Ordering))})").ToList();

    /// <summary>
    /// The projection holds a row for every process the journal names and nothing else, and an exit for
    /// every journaled exit. Collector-1 keeps streaming this machine's processes, so the projection is
    /// read between two journal reads: it must hold all of the first and nothing beyond the second.
    /// </summary>
    private static List<string> ProjectionMismatches(List<JournaledEvent> first, List<ProjectedProcess> projected, List<JournaledEvent> second)
    {
        var rows = projected.Select(p => p.ExecId).ToHashSet();
        var exited = projected.Where(p => p.Exited).Select(p => p.ExecId).ToHashSet();
        var problems = new List<string>();
        problems.AddRange(ProcessesOf(first).Where(id => !rows.Contains(id)).Select(id => $"journaled process {Describe(id)} has no projection row"));
        problems.AddRange(rows.Except(ProcessesOf(second)).Select(id => $"projection row {Describe(id)} has no journaled event"));
        problems.AddRange(ProcessesOf(first, WireEventKind.Exit).Where(id => !exited.Contains(id)).Select(id => $"journaled exit of {Describe(id)} is not projected"));
        problems.AddRange(exited.Except(ProcessesOf(second, WireEventKind.Exit)).Select(id => $"projected exit of {Describe(id)} has no journaled exit"));
        return problems;
    }

    private static HashSet<string> ProcessesOf(List<JournaledEvent> journaled, WireEventKind? kind = null) =>
        journaled.Where(e => kind is null || e.Event.Kind == kind).Select(e => ExecIdOf(e.Event).Encode()).ToHashSet();

    /// <summary>
    /// Every chain's processes, as the kernel numbered them, each exactly once in the journal with the right
    /// parent and exit status, and once in the projection: the shell (exec, exit 0; parent: this test
    /// process), its subshell (clone, exit 3), the subshell's fork (clone, replaced by its exec) and the
    /// inner shell (exec, exit 0; parent: the subshell). Nothing else carries the marker.
    /// </summary>
    private static List<string> MarkedChainProblems(List<MarkedChain> chains, List<JournaledEvent> journaled, List<ProjectedProcess> projected, ExecId testProcess)
    {
        var markers = chains.Select(c => c.Marker).ToHashSet();
        var byMarker = journaled.Where(e => e.Host == testProcess.Node)
            .SelectMany(e => e.Event.Process.Arguments.Where(markers.Contains).Select(marker => (Marker: marker, e.Event)))
            .ToLookup(pair => pair.Marker, pair => pair.Event);
        var projectedById = projected.ToLookup(p => p.ExecId);
        var problems = new List<string>();
        foreach (var chain in chains)
        {
            var events = byMarker[chain.Marker].ToList();
            var shell = Single(WireEventKind.Exec, chain.ShellPid, testProcess, null);
            Single(WireEventKind.Exit, chain.ShellPid, null, MarkedShellChains.ShellExitStatus, shell);
            var subshell = Single(WireEventKind.Clone, chain.SubshellPid, shell, null);
            Single(WireEventKind.Exit, chain.SubshellPid, null, MarkedShellChains.SubshellExitStatus, subshell);
            var innerFork = Single(WireEventKind.Clone, chain.InnerPid, subshell, null);
            var inner = Single(WireEventKind.Exec, chain.InnerPid, subshell, null);
            Single(WireEventKind.Exit, chain.InnerPid, null, MarkedShellChains.InnerExitStatus, inner);
            if (events.Count != MarkedShellChains.EventsPerChain)
                problems.Add($"{chain.Marker}: {events.Count} journaled events carry the marker, expected {MarkedShellChains.EventsPerChain}: {string.Join("; ", events.Select(e => e.EventId))}");

            foreach (var (process, status) in new[] { (shell, MarkedShellChains.ShellExitStatus), (subshell, MarkedShellChains.SubshellExitStatus),
                         (innerFork, (int?)null), (inner, MarkedShellChains.InnerExitStatus) })
            {
                if (process is not { } id) continue;
                var rows = projectedById[id.Encode()].ToList();
                if (rows.Count != 1 || rows[0].ExitStatus != status)
                    problems.Add($"{chain.Marker}: {rows.Count} projection rows for {Describe(id.Encode())}, expected 1 with exit status {status?.ToString(CultureInfo.InvariantCulture) ?? "none (replaced by its exec)"}" +
                                 (rows.Count == 1 ? $", found {rows[0].ExitStatus?.ToString(CultureInfo.InvariantCulture) ?? "none"}" : ""));
            }

            // The one event of this kind and pid among the chain's, checked against its parent (exec, clone)
            // or the process it ends (exit); returns the process it names.
            ExecId? Single(WireEventKind kind, int pid, ExecId? parent, int? status, ExecId? ending = null)
            {
                var matching = events.Where(e => e.Kind == kind && e.Process.Pid == pid).ToList();
                if (matching.Count != 1)
                {
                    problems.Add($"{chain.Marker}: {matching.Count} journaled {kind} events of pid {pid}, expected 1");
                    return null;
                }
                var found = matching[0].Process;
                var id = WireConverter.ToExecId(found.ExecId);
                if (kind != WireEventKind.Exit && parent is { } p && (found.ParentExecId is null || WireConverter.ToExecId(found.ParentExecId) != p))
                    problems.Add($"{chain.Marker}: {kind} of pid {pid} names parent {(found.ParentExecId is null ? "none" : Describe(WireConverter.ToExecId(found.ParentExecId).Encode()))}, expected {Describe(p.Encode())}");
                if (kind == WireEventKind.Exit && (ending != id || found.Exit is null || found.Exit.Status != status))
                    problems.Add($"{chain.Marker}: exit of pid {pid} ends {Describe(id.Encode())} with status {found.Exit?.Status}, " +
                                 $"expected {(ending is { } started ? Describe(started.Encode()) : "the process its start named")} with status {status}");
                return id;
            }
        }
        return problems;
    }

    /// <summary>
    /// The replayed host against its capture. The process actors turn every distinct exec and clone into
    /// one process and every exit into one exit; duplicate records of one process collapse into it. The one
    /// start they legitimately drop is a superseded one (ProcessRouter.IsDuplicateOrSuperseded): an image
    /// whose pid a later image already holds when it arrives; its exit still goes out (with a stand-in
    /// process). So: no stored process the capture does not have, every exit, and every exec and clone
    /// except ones the capture itself shows a later image of the same pid for.
    /// </summary>
    private async Task CheckReplayedHostAsync(LocalFleet fleet, List<JournaledEvent> journaled)
    {
        var expectation = await ReplayExpectation.ReadAsync(fleet.CapturePath, fleet.Api.ReplayHost);
        var stored = journaled.Where(e => e.Host == expectation.Host).ToList();
        foreach (var kind in new[] { EnrichedKind.Exec, EnrichedKind.Clone, EnrichedKind.Exit })
        {
            var sent = expectation.Of(kind);
            var kept = stored.Where(e => e.Event.Kind == WireConverter.ToWire(kind)).Select(e => ExecIdOf(e.Event)).ToHashSet();
            var missing = sent.Except(kept).ToList();
            var superseded = missing.Where(expectation.HasLaterImageOfPid).ToList();
            output.WriteLine($"{expectation.Host} {kind}: {sent.Count} in the capture, {kept.Count} journaled" +
                             (superseded.Count > 0 ? $", {superseded.Count} superseded by a later image of their pid: {string.Join(", ", superseded.Select(id => id.Encode()))}" : ""));
            AssertNone(kept.Except(sent).Select(id => $"journaled {kind} of {Describe(id.Encode())} is not in the capture").ToList(),
                $"{kind} events of {expectation.Host} journaled that the capture does not hold");
            var mayBeDropped = kind == EnrichedKind.Exit ? new List<ExecId>() : superseded;
            AssertNone(missing.Except(mayBeDropped).Select(id => $"{kind} of {Describe(id.Encode())} is in the capture but not journaled; " +
                                                                 $"journaled for it: {JournaledFor(stored, id)}").ToList(),
                $"{kind} events of {expectation.Host} lost");
        }
        output.WriteLine($"{expectation.Host}: {expectation.Records} exec/clone/exit records in the capture");
    }

    /// <summary>
    /// `forkline lineage` as a user runs it with what `up` printed (gateway-1 from FORKLINE_GATEWAY, then
    /// the restarted gateway-2): the inner shell of a chain started while gateway-2 was down goes back
    /// through its subshell and shell to this test process.
    /// </summary>
    private async Task CheckLineageThroughTheCliAsync(FleetApi api, MarkedChain chain, List<JournaledEvent> journaled)
    {
        var chainEvents = journaled.Where(e => e.Host == api.KernelHost && e.Event.Process.Arguments.Contains(chain.Marker)).Select(e => e.Event).ToList();
        ExecId Of(WireEventKind kind, int pid) => ExecIdOf(chainEvents.Single(e => e.Kind == kind && e.Process.Pid == pid));
        var inner = Of(WireEventKind.Exec, chain.InnerPid);
        string[] expectedAncestors =
            [Of(WireEventKind.Clone, chain.SubshellPid).Encode(), Of(WireEventKind.Exec, chain.ShellPid).Encode(), ThisProcess.ExecId(api.KernelHost).Encode()];
        foreach (var gateway in new[] { LocalFleet.Gateway1, LocalFleet.Gateway2 })
        {
            string[] arguments = gateway == LocalFleet.Gateway1
                ? ["lineage", "--json", inner.Encode()]
                : ["lineage", "--json", "--gateway", api.Grpc[gateway], inner.Encode()];
            var result = await ExternalCommand.RunAsync(GatewayProcess.Executable, arguments, CliTimeout, api.ClientEnvironment);
            Assert.True(result.ExitCode == 0, result.ToString());
            var lineage = JsonParser.Default.Parse<GetLineageResponse>(result.Output);
            output.WriteLine($"forkline lineage via {gateway}: {inner.Encode()} <- " +
                             string.Join(" <- ", lineage.Ancestors.Select(a => $"{a.Pid} {a.Binary}")));
            Assert.Equal(inner.Encode(), lineage.Process.ExecId);
            Assert.Equal(expectedAncestors, lineage.Ancestors.Take(expectedAncestors.Length).Select(a => a.ExecId));
        }
    }

    private static string JournaledFor(List<JournaledEvent> journaled, ExecId process)
    {
        var found = journaled.Where(e => ExecIdOf(e.Event) == process).Select(e => $"{e.Event.Kind} at ordering {e.Ordering}").ToList();
        return found.Count > 0 ? string.Join(", ", found) : "nothing";
    }

    private static void AssertNone(List<string> problems, string what) =>
        Assert.True(problems.Count == 0, $"{problems.Count} {what}:\n{string.Join('\n', problems.Take(40))}{(problems.Count > 40 ? "\n..." : "")}");

    private static ExecId ExecIdOf(WireEvent wire) => WireConverter.ToExecId(wire.Process.ExecId);

    private static string Describe(string execId)
    {
        var id = ExecId.Decode(execId);
        return $"{execId} ({id.Node}:{id.StartKtime}:{id.Pid})";
    }

    /// <summary>
    /// From a Prometheus text page: the sample of <paramref name="series"/> when it names labels, else the
    /// sum over every label set of that metric.
    /// </summary>
    private static async Task<double> MetricAsync(string url, string series)
    {
        using var http = new HttpClient();
        return SumOf(await http.GetStringAsync(url), series);
    }

    private static double SumOf(string page, string series) =>
        page.Split('\n')
            .Where(line => line.StartsWith(series + " ", StringComparison.Ordinal) || (!series.Contains('{') && line.StartsWith(series + "{", StringComparison.Ordinal)))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
