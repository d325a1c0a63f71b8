using System.Diagnostics;
using System.Globalization;
using Forkline.Gateway.Tests.Support;
using static Forkline.Benchmarks.CollectorBenchProcesses;

namespace Forkline.Benchmarks;

/// <summary>
/// `figures Soak`: memory over time of `forkline run` (issue 14, item 6). After a warm-up storm, the
/// node holds LIVE long-lived processes at once (bench/c/storm -H: /bin/sleep), then they end and a churn
/// of PROCESSES short ones (/bin/true, 2 at a time) runs. Figures: the managed heap and the RSS after the
/// churn against after the warm-up (within 10%), forkline_processes_live against the host's real count
/// (/proc) after the churn as after the warm-up (it counts images "running, or exited and still needed":
/// a running process's pre-exec image is its parent, so it exceeds /proc by a steady amount), and the memory each held process cost (managed heap and RSS while holding,
/// minus after the warm-up, per held process; goal 2 KiB). The managed heap is what survives a full
/// collection induced in the node (<see cref="FullCollection"/>; the smallest of <see cref="Collections"/>),
/// so garbage not yet collected does not count; the RSS is read after them. dotnet_total_memory_bytes over the
/// quiet window before (garbage included) is printed beside it. FORKLINE_SOAK_PROCESSES (default 200,000) and
/// FORKLINE_SOAK_LIVE (default 20,000) make a shorter run.
/// </summary>
public sealed class SoakFigures : IQuickFigures
{
    private const string NodeName = "soak-bench";
    private const int WarmUpProcesses = 5_000;
    private const int StormWorkers = 2;
    private const int Collections = 3;
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan LivenessCheck = TimeSpan.FromSeconds(35);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly Stopwatch _clock = new();

    public string Name => "Soak";

    public async Task RunAsync(TextWriter output)
    {
        var native = PrepareNative("soak", "dotnet pwsh ./build.ps1 bench figures Soak", output);
        if (native is null) return;
        var forkline = GatewayProcess.Executable;
        if (!File.Exists(forkline))
        {
            output.WriteLine($"soak figures skipped: {forkline} is missing — build it with: dotnet pwsh ./build.ps1 build");
            return;
        }
        var churn = Setting("FORKLINE_SOAK_PROCESSES", 200_000);
        var live = Setting("FORKLINE_SOAK_LIVE", 20_000);
        var storm = Path.Combine(native.Tools, "storm");
        output.WriteLine($"soak figures: forkline run; warm-up storm of {WarmUpProcesses:N0}, then {live:N0} processes held at once, then a churn of {churn:N0} x /bin/true, {StormWorkers} at a time");
        _clock.Start();

        var folder = Path.Combine(Path.GetTempPath(), "forkline-soak-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        ChildProcesses.TrackFolder(folder, track: true);
        var http = $"127.0.0.1:{TestNodes.FreePort()}";
        var node = ObserverProcess.Start("forkline run", forkline,
        [
            "run", "--node", NodeName, "--data", Path.Combine(folder, "data"), "--cluster-port", "0",
            "--api-http", http, "--api-grpc", $"127.0.0.1:{TestNodes.FreePort()}",
        ], "/dev/null", Path.Combine(folder, "run.stderr"));
        var metrics = new NodeMetrics(node, $"http://{http}/metrics");
        try
        {
            await metrics.WaitUntilAnswersAsync(Patience);
            await RunStormAsync(storm, WarmUpProcesses);
            var warm = await MeasureAsync(metrics, node, "after the warm-up");

            var holding = await HoldAsync(storm, live, metrics, warm.Live, output);
            var held = await MeasureAsync(metrics, node, $"holding {live:N0}");
            await holding.ReleaseAsync();

            await RunStormAsync(storm, churn);
            var after = await MeasureAsync(metrics, node, "after the churn");
            node.ThrowIfExited("during the soak");

            var table = new FiguresTable(output);
            output.WriteLine($"managed heap alive after a full collection: {warm.HeapBytes:N0} B after the warm-up, {held.HeapBytes:N0} B holding {live:N0}, {after.HeapBytes:N0} B after the churn " +
                             $"(before it, garbage included: {warm.UncollectedHeapBytes:N0}, {held.UncollectedHeapBytes:N0}, {after.UncollectedHeapBytes:N0} B); " +
                             $"RSS {warm.RssBytes:N0}, {held.RssBytes:N0}, {after.RssBytes:N0} B");
            table.Add("managed heap after the churn / after the warm-up", (double)after.HeapBytes / warm.HeapBytes, "x", 1.10, higherIsBetter: false, orEqual: true);
            table.Add("managed heap before a full collection after the churn / after the warm-up (garbage included)", (double)after.UncollectedHeapBytes / warm.UncollectedHeapBytes, "x", 0, higherIsBetter: false, hasTarget: false);
            table.Add("RSS after the churn / after the warm-up", (double)after.RssBytes / warm.RssBytes, "x", 1.10, higherIsBetter: false, orEqual: true);
            table.Add("anonymous RSS after the churn / after the warm-up (file-backed code pages left out)", (double)after.RssAnonymousBytes / warm.RssAnonymousBytes, "x", 0, higherIsBetter: false, hasTarget: false);
            output.WriteLine($"forkline_processes_live {warm.Live:N0} after the warm-up (/proc {warm.HostBefore:N0} before reading it, {warm.HostAfter:N0} after), " +
                             $"{held.Live:N0} holding (/proc {held.HostBefore:N0}, {held.HostAfter:N0}), {after.Live:N0} after the churn (/proc {after.HostBefore:N0}, {after.HostAfter:N0})");
            // Other processes come and go on a shared host, so the figure is the growth of the excess over /proc, with the host's own spread as slack.
            var growth = after.Live - after.HostAfter - (warm.Live - warm.HostAfter);
            var slack = Math.Abs(after.HostAfter - after.HostBefore) + Math.Abs(warm.HostAfter - warm.HostBefore);
            table.Add("forkline_processes_live over /proc: growth from after the warm-up to after the churn", growth, "processes", slack, higherIsBetter: false, orEqual: true);
            // Also the images of processes that ended in the last exit grace period (5 s) count: a shell loop polling /metrics meanwhile shows as 20-80 here.
            table.Add("forkline_processes_live over /proc after the churn", after.Live - after.HostAfter, "processes", 0, higherIsBetter: false, hasTarget: false);
            table.Add("managed heap per held process", (double)(held.HeapBytes - warm.HeapBytes) / live, "bytes", 2_048, higherIsBetter: false, orEqual: true);
            table.Add("RSS per held process", (double)(held.RssBytes - warm.RssBytes) / live, "bytes", 0, higherIsBetter: false, hasTarget: false);
            table.Print();
            output.WriteLine($"soak figures took {_clock.Elapsed.TotalMinutes:F1} min");
        }
        finally
        {
            node.Kill();
            Directory.Delete(folder, recursive: true);
            ChildProcesses.TrackFolder(folder, track: false);
        }
    }

    /// <param name="HeapBytes">Managed heap alive: what survived a full collection.</param>
    /// <param name="UncollectedHeapBytes">The smallest dotnet_total_memory_bytes over the quiet window before it, garbage included.</param>
    /// <param name="RssAnonymousBytes">The anonymous part of <paramref name="RssBytes"/>, read with it; the rest is file-backed (code pages touched).</param>
    private sealed record Sample(long HeapBytes, long UncollectedHeapBytes, long RssBytes, long RssAnonymousBytes, long Live, long HostBefore, long HostAfter);

    /// <summary>
    /// Waits until the node is quiet (nothing forwarded is pending), reads its heap over <see cref="QuietWindow"/>,
    /// then induces full collections and takes what survives them and the RSS after.
    /// </summary>
    private async Task<Sample> MeasureAsync(NodeMetrics metrics, ObserverProcess node, string when)
    {
        await metrics.WaitQuietAsync(when, Patience);
        // Exited images stay tracked for a grace period, and one periodic liveness check (every 30 s) ends what a ring loss left open.
        await Task.Delay(LivenessCheck);
        var uncollected = long.MaxValue;
        var window = Stopwatch.StartNew();
        while (window.Elapsed < QuietWindow)
        {
            uncollected = Math.Min(uncollected, (long)await metrics.ValueAsync("dotnet_total_memory_bytes"));
            await Task.Delay(500);
        }
        var heap = long.MaxValue;
        var rss = long.MaxValue;
        var rssAnonymous = 0L;
        for (var collection = 0; collection < Collections; collection++)
        {
            heap = Math.Min(heap, await FullCollection.SurvivingBytesAsync(node.Pid, Patience));
            await Task.Delay(1_000);
            var resident = ProcFs.ResidentKiB(node.Pid) * 1024;
            if (resident >= rss) continue;
            rss = resident;
            rssAnonymous = ProcFs.ResidentAnonymousKiB(node.Pid) * 1024;
        }
        var hostBefore = HostProcesses();
        var live = (long)await metrics.ValueAsync("forkline_processes_live");
        var hostAfter = HostProcesses();
        Console.Error.WriteLine($"[{_clock.Elapsed:mm\\:ss}] {when}: managed heap {heap:N0} B alive after a full collection ({uncollected:N0} B before it), RSS {rss:N0} B ({rssAnonymous:N0} B anonymous), live {live:N0}, /proc {hostBefore:N0}");
        return new Sample(heap, uncollected, rss, rssAnonymous, live, hostBefore, hostAfter);
    }

    /// <summary>Thread-group leaders on the host: the numeric entries of /proc.</summary>
    private static long HostProcesses()
    {
        long count = 0;
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out _)) count++;
        return count;
    }

    private async Task RunStormAsync(string storm, int processes)
    {
        var start = new ProcessStartInfo(storm) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-n", processes.ToString(CultureInfo.InvariantCulture), "-j", StormWorkers.ToString(CultureInfo.InvariantCulture)])
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {storm}");
        ChildProcesses.Track(process);
        var line = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{storm} failed ({process.ExitCode}): {await process.StandardError.ReadToEndAsync()}");
        Console.Error.WriteLine($"[{_clock.Elapsed:mm\\:ss}] {line.Trim()}");
    }

    private async Task<Holding> HoldAsync(string storm, int processes, NodeMetrics metrics, long liveBefore, TextWriter output)
    {
        var start = new ProcessStartInfo(storm) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-H", "-n", processes.ToString(CultureInfo.InvariantCulture)]) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {storm}");
        ChildProcesses.Track(process);
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(Patience)
            ?? throw new InvalidOperationException($"{storm} -H ended before holding: {await process.StandardError.ReadToEndAsync()}");
        Console.Error.WriteLine($"[{_clock.Elapsed:mm\\:ss}] {line}");
        var deadline = Stopwatch.StartNew();
        // Other processes of a shared host come and go meanwhile: 99% of the held ones is enough to go on.
        while (await metrics.ValueAsync("forkline_processes_live") < liveBefore + processes * 99L / 100)
        {
            if (deadline.Elapsed > Patience)
            {
                output.WriteLine($"soak: forkline_processes_live never reached {liveBefore + processes:N0} while holding");
                break;
            }
            await Task.Delay(500);
        }
        return new Holding(process);
    }

    private sealed class Holding(Process holder)
    {
        /// <summary>Ends the holder's stdin: it kills and reaps the held processes, then exits.</summary>
        public async Task ReleaseAsync()
        {
            holder.StandardInput.Close();
            await holder.StandardOutput.ReadToEndAsync();
            await holder.WaitForExitAsync();
            holder.Dispose();
        }
    }

    private static int Setting(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    /// <summary>The node's /metrics, read as single values.</summary>
    private sealed class NodeMetrics(ObserverProcess node, string url)
    {
        public async Task WaitUntilAnswersAsync(TimeSpan patience)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                node.ThrowIfExited($"before {url} answered");
                try
                {
                    await ValueAsync("forkline_processes_live");
                    return;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException)
                {
                    if (deadline.Elapsed > patience) throw new TimeoutException($"{url} did not answer within {patience.TotalSeconds} s: {node.LogTail()}");
                }
                await Task.Delay(500);
            }
        }

        /// <summary>
        /// Nothing has waited in the forwarder for 3 s. (The live count is no sign: on a shared host other
        /// processes come and go all the time.)
        /// </summary>
        public async Task WaitQuietAsync(string when, TimeSpan patience)
        {
            var deadline = Stopwatch.StartNew();
            var still = Stopwatch.StartNew();
            while (true)
            {
                node.ThrowIfExited(when);
                var buffered = await ValueAsync("forkline_forward_buffered_events");
                if (buffered > 0) still.Restart();
                else if (still.Elapsed > TimeSpan.FromSeconds(3)) return;
                if (deadline.Elapsed > patience) throw new TimeoutException($"forkline run never went quiet {when} ({buffered:N0} events buffered)");
                await Task.Delay(500);
            }
        }

        public async Task<double> ValueAsync(string name)
        {
            var text = await Http.GetStringAsync(url);
            foreach (var line in text.Split('\n'))
                if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] == ' ')
                    return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
            throw new FormatException($"no {name} on {url}");
        }
    }
}
