using System.Diagnostics;
using System.Globalization;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Tests.Support;
using static Forkline.Benchmarks.CollectorBenchProcesses;
using static Forkline.Benchmarks.CollectorFigures;

namespace Forkline.Benchmarks;

/// <summary>
/// Issue 10's cost figures (`figures Cost`, needs root): what watching a host's processes costs it. One
/// exec storm (PROCESSES short processes, /bin/true, 2 at a time, bench/c/storm) is run with no observer
/// and under each observer, started fresh and ready, after a warm-up storm: bpftrace printing exec/exit,
/// the C libbpf consumer (no-op callback), `forkline collector --json`, `forkline run --json` (stdout to
/// /dev/null, and to a file) and a collector-node + gateway pair on loopback (SQLite). Per observer
/// process: its own CPU time (all its threads, to the microsecond: <see cref="CpuAccount"/>) per storm process, the
/// storm's wall-time slowdown, RSS and threads, and for the journaling ones the latency from the kernel
/// to the journal; each the median of 3 rounds, every round running every observer once (interleaved, so
/// drift hits all alike). Then, once: idle CPU over a quiet window, kernel -> stdout latency and start-up
/// (stdout through a pipe read here, a pass of its own so the pipe does not disturb the CPU figures),
/// a hook storm (getppid threads) under `forkline run`, and the collector-node's CPU with container
/// identity on against off (issue 15: within 5%), and the design's floor: the process actors alone, in this process
/// (<see cref="MeasureActorFloorAsync"/>). Ratios against bpftrace are the headline.
/// </summary>
/// <remarks>
/// Environment: FORKLINE_BENCH_IDLE_SECONDS (each of the two idle windows, default 60), FORKLINE_BENCH_STORM_PROCESSES
/// (default 3000) — both only to shorten runs while developing.
/// The CPU of an observer is read before the measured storm and once the observer is quiet after it
/// (<see cref="QuietFor"/> without a byte written, see <see cref="ProcFs.WrittenBytes"/>): an observer
/// that lags still pays its backlog; the quiet tail adds its idle cost of half a second.
/// </remarks>
public sealed class CostFigures : IQuickFigures
{
    /// <summary>How long an observer may take to start, or to catch up after a storm.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private const int Rounds = 3;
    private const int WarmUpProcesses = 1000;
    private const int StormWorkers = 2;
    private const double HookSeconds = 3;
    private const int TrickleProcesses = 500;
    private const double TricklePerSecond = 100;
    private static readonly TimeSpan QuietFor = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ProbeWait = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan GiveUpSilence = TimeSpan.FromSeconds(15);
    private const int FloorPairs = 20_000;
    private static readonly TimeSpan FloorGrace = TimeSpan.FromMilliseconds(100);
    private static readonly ObserverKind[] Kinds = Enum.GetValues<ObserverKind>();

    private CostSetup _setup = null!;
    private readonly Stopwatch _clock = new();

    public string Name => "Cost";

    public async Task RunAsync(TextWriter output)
    {
        var setup = Prepare(output);
        if (setup is null) return;
        _setup = setup;
        _clock.Start();
        output.WriteLine($"cost figures: storm of {setup.Processes:N0} x {CostLatency.StormBinary}, {StormWorkers} at a time, after a warm-up storm of " +
                         $"{WarmUpProcesses:N0}; median of {Rounds} rounds; idle window {setup.IdleSeconds} s; {Environment.ProcessorCount} CPUs, " +
                         $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; {CpuAccount.Describe}");
        try
        {
            var baseline = new List<double>();
            var runs = Kinds.ToDictionary(kind => kind, _ => new List<StormRun>());
            for (var round = 1; round <= Rounds; round++)
            {
                output.WriteLine($"[{Clock}] round {round}: no observer, {string.Join(", ", Kinds.Select(Observer.NameOf))}");
                baseline.Add(await BaselineAsync());
                foreach (var kind in Kinds) runs[kind].Add(await MeasureStormAsync(kind, output));
            }
            var table = new FiguresTable(output);
            var bpftrace = PrintStorms(output, table, baseline, runs);
            output.WriteLine();
            PrintActorFloor(output, table, bpftrace, await MeasureActorFloorAsync(output));
            output.WriteLine();
            output.WriteLine($"idle: every observer started fresh, one warm-up storm, then two windows of {setup.IdleSeconds} s with nothing to observe (all at once); " +
                             "the first still holds the runtime's after-start work (tier-1 JIT of timer-driven code), the second is the steady state");
            var (first, second) = await MeasureIdleAsync();
            PrintIdle(table, "first window", first);
            PrintIdle(table, "second window", second);
            output.WriteLine();
            output.WriteLine("stdout through a pipe read by the benchmark (a pass of its own): start-up and kernel -> stdout latency of the storm's execs");
            foreach (var kind in (ObserverKind[])[ObserverKind.Collector, ObserverKind.RunToNull])
                PrintStdout(table, kind, await MeasureStdoutAsync(kind, output), await MeasureStartupProfileAsync(kind, output));
            output.WriteLine();
            PrintHooks(table, await MeasureHooksAsync(output));
            output.WriteLine();
            var identity = await MeasureContainerIdentityAsync(output);
            table.Add("container identity: collector-node CPU per storm process, on / off", identity, "x", 1.05, higherIsBetter: false, orEqual: true);
            output.WriteLine();
            output.WriteLine($"headline: CPU per storm process against bpftrace's ({bpftrace:N0} us) in this run; cost figures took {_clock.Elapsed.TotalMinutes:F1} min");
            table.Print();
        }
        finally
        {
            ChildProcesses.KillAll();
        }
    }

    private string Clock => _clock.Elapsed.ToString(@"mm\:ss", CultureInfo.InvariantCulture);

    private static CostSetup? Prepare(TextWriter output)
    {
        var native = PrepareNative("cost", "dotnet pwsh ./build.ps1 bench figures Cost", output);
        if (native is null) return null;
        var forkline = GatewayProcess.Executable;
        if (!File.Exists(forkline))
        {
            output.WriteLine($"cost figures skipped: {forkline} is missing — build it with: dotnet pwsh ./build.ps1 build");
            return null;
        }
        var bpftrace = FindOrInstallBpftrace(output);
        if (bpftrace is null) return null;
        CpuAccount.RemoveLeftovers(output);
        return new CostSetup(native, forkline, bpftrace, Path.Combine(native.Tools, "storm"),
            Setting("FORKLINE_BENCH_STORM_PROCESSES", 3000), Setting("FORKLINE_BENCH_IDLE_SECONDS", 60));
    }

    private static int Setting(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    /// <summary>bpftrace on PATH, else installed with apt-get; null (and a printed reason) when that fails.</summary>
    private static string? FindOrInstallBpftrace(TextWriter output)
    {
        string? Find() => (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':')
            .Select(folder => Path.Combine(folder, "bpftrace")).FirstOrDefault(File.Exists);
        if (Find() is { } found) return found;
        output.WriteLine("cost figures: bpftrace is missing, installing it: apt-get install -y bpftrace");
        using (var install = Process.Start(new ProcessStartInfo("apt-get", ["install", "-y", "-q", "bpftrace"]) { RedirectStandardOutput = true }))
        {
            install?.StandardOutput.ReadToEnd();
            install?.WaitForExit();
        }
        if (Find() is { } installed) return installed;
        output.WriteLine("cost figures skipped: bpftrace is missing and apt-get install -y bpftrace did not install it — install it, then run again");
        return null;
    }

    private async Task<double> BaselineAsync()
    {
        await StormAsync(WarmUpProcesses);
        return (await StormAsync(_setup.Processes)).Seconds;
    }

    /// <summary>One observer, started fresh: ready, warm-up storm, quiet, then the measured storm.</summary>
    private async Task<StormRun> MeasureStormAsync(ObserverKind kind, TextWriter output)
    {
        await using var observer = await Observer.StartAsync(kind, _setup, ObserverOutput.Discarded);
        await WaitReadyAsync(observer, recorder: null);
        await WaitQuietAsync(observer, "after the warm-up storm", await StormAsync(WarmUpProcesses), WarmUpProcesses);

        var cpuBefore = observer.Processes.Select(p => p.CpuMicroseconds()).ToArray();
        var writtenBefore = observer.Sink is { } sink ? sink.WrittenBytes() : 0;
        var storm = await StormAsync(_setup.Processes);
        await WaitQuietAsync(observer, "after the measured storm", storm, _setup.Processes);
        var cpuAfter = observer.Processes.Select(p => p.CpuMicroseconds()).ToArray();
        var written = observer.Sink is { } after ? after.WrittenBytes() - writtenBefore : 0;
        observer.ThrowIfExited("during the measured storm");

        // bpftrace's shortest line is ~12 bytes, two per process; JSON lines are hundreds of bytes.
        if (observer.Sink is not null && written < 16L * _setup.Processes)
            throw new InvalidOperationException($"{observer.Name} wrote only {written:N0} bytes during a storm of {_setup.Processes:N0} processes: it produced no events");
        var costs = observer.Processes.Select((process, i) => new ProcessCost(process.Name,
            (cpuAfter[i] - cpuBefore[i]) / _setup.Processes,
            process.ResidentKiB(), process.Threads())).ToList();

        var journal = new List<double>();
        if (observer.Journal is { } stored)
        {
            journal = stored.ExecMilliseconds(storm.Pid);
            if (journal.Count == 0) throw new InvalidOperationException($"{observer.Name}: none of the storm's {_setup.Processes:N0} execs is in its journal");
            if (journal.Count < _setup.Processes) output.WriteLine($"  {observer.Name}: only {journal.Count:N0} of the storm's {_setup.Processes:N0} execs are in the journal");
        }
        var trickle = kind == ObserverKind.NodeAndGateway ? await MeasureTrickleAsync(observer) : null;
        var summary = await observer.StopAsync();
        if (summary is not null)
        {
            // The C consumer: fork + exec + exit of every storm process went through its ring.
            var records = Field(summary.Split('\n')[^1], "records");
            if (records < 3.0 * (WarmUpProcesses + _setup.Processes))
                throw new InvalidOperationException($"{observer.Name} drained only {records:N0} records over two storms of {WarmUpProcesses + _setup.Processes:N0} processes: '{summary}'");
        }
        output.WriteLine($"  [{Clock}] {observer.Name,-36} storm {storm.Seconds,6:F2} s; CPU us/process {string.Join(", ", costs.Select(c => $"{c.Name} {c.CpuMicroseconds:N0}"))}" +
                         (journal.Count > 0 ? $"; kernel -> journal p99 {CostLatency.Percentile(journal, 99):N0} ms" : ""));
        return new StormRun(storm.Seconds, costs, journal, trickle);
    }

    /// <summary>
    /// The issue's gateway target is "at a trickle": <see cref="TrickleProcesses"/> processes at
    /// <see cref="TricklePerSecond"/> per second, after the storm; CPU per stored process (its exec and
    /// exit) of each of the observer's processes, the time between the processes (idle cost) included.
    /// </summary>
    private async Task<List<ProcessCost>> MeasureTrickleAsync(Observer observer)
    {
        var before = observer.Processes.Select(p => p.CpuMicroseconds()).ToArray();
        var trickle = await StormAsync(TrickleProcesses, TricklePerSecond);
        await WaitQuietAsync(observer, "after the trickle", trickle, TrickleProcesses);
        var after = observer.Processes.Select(p => p.CpuMicroseconds()).ToArray();
        observer.ThrowIfExited("during the trickle");
        if (observer.Journal!.Count(trickle.Pid, WireEventKind.Exec) == 0)
            throw new InvalidOperationException($"{observer.Name}: none of the trickle's {TrickleProcesses} execs is in its journal");
        return observer.Processes.Select((p, i) => new ProcessCost(p.Name, (after[i] - before[i]) / TrickleProcesses, 0, 0)).ToList();
    }

    /// <summary>Every observer at once, fresh, after one warm-up storm: CPU % of a core of each process over two idle windows in a row.</summary>
    private async Task<(List<(string Name, double Percent)> First, List<(string Name, double Percent)> Second)> MeasureIdleAsync()
    {
        var observers = new List<Observer>();
        try
        {
            foreach (var kind in Kinds)
            {
                var observer = await Observer.StartAsync(kind, _setup, ObserverOutput.Discarded);
                observers.Add(observer);
                await WaitReadyAsync(observer, recorder: null);
            }
            var warmUp = await StormAsync(WarmUpProcesses);
            foreach (var observer in observers) await WaitQuietAsync(observer, "after the warm-up storm", warmUp, WarmUpProcesses);
            var processes = observers.SelectMany(o => o.Processes.Select(p => (Observer: o, Process: p))).ToList();
            async Task<List<(string Name, double Percent)>> WindowAsync()
            {
                var before = processes.Select(p => p.Process.CpuMicroseconds()).ToArray();
                var window = Stopwatch.StartNew();
                await Task.Delay(TimeSpan.FromSeconds(_setup.IdleSeconds));
                var after = processes.Select(p => p.Process.CpuMicroseconds()).ToArray();
                var seconds = window.Elapsed.TotalSeconds;
                foreach (var observer in observers) observer.ThrowIfExited("during the idle window");
                return processes.Select((p, i) => (IdleName(p.Observer, p.Process), (after[i] - before[i]) / 1e6 / seconds * 100)).ToList();
            }
            var first = await WindowAsync();
            return (first, await WindowAsync());
        }
        finally
        {
            foreach (var observer in observers) await observer.DisposeAsync();
        }
    }

    private static string IdleName(Observer observer, ObserverProcess process) =>
        observer.Processes.Count > 1 ? process.Name : observer.Name;

    /// <summary>stdout through a pipe read here: start-up (first line), then kernel -> stdout of the storm's execs.</summary>
    private async Task<StdoutRun> MeasureStdoutAsync(ObserverKind kind, TextWriter output)
    {
        await using var observer = await Observer.StartAsync(kind, _setup, ObserverOutput.Piped);
        var process = observer.Sink!;
        var recorder = new StdoutRecorder(process, kind == ObserverKind.Collector ? "{\"kind\":\"exec\"" : "{\"process_exec\"");
        await WaitReadyAsync(observer, recorder);
        var firstLine = recorder.FirstLine ?? throw new InvalidOperationException($"{observer.Name}: ready without a line on stdout");
        await WaitQuietAsync(observer, "after the warm-up storm", await StormAsync(WarmUpProcesses), WarmUpProcesses);
        var storm = await StormAsync(_setup.Processes);
        await WaitQuietAsync(observer, "after the measured storm", storm, _setup.Processes);
        observer.ThrowIfExited("during the measured storm");
        var latencies = CostLatency.StdoutMilliseconds(recorder.Execs(), storm.Pid);
        if (latencies.Count == 0) throw new InvalidOperationException($"{observer.Name}: none of the storm's {_setup.Processes:N0} execs reached its stdout");
        if (latencies.Count < _setup.Processes) output.WriteLine($"  {observer.Name}: only {latencies.Count:N0} of the storm's {_setup.Processes:N0} execs reached stdout");
        return new StdoutRun(observer.Name, firstLine, recorder.FirstLineCpu, latencies);
    }

    /// <summary>
    /// Where forkline's CPU goes until its first printed event: it starts under `perf record` (sampling its
    /// CPU, every thread), is killed at its first line on stdout, and perf's samples by shared object give
    /// the JIT's share (libclrjit.so) and the runtime's (libcoreclr.so), in % of its samples. Null, with a
    /// printed reason, when perf cannot record here.
    /// </summary>
    private async Task<StartupProfile?> MeasureStartupProfileAsync(ObserverKind kind, TextWriter output)
    {
        var samples = Path.Combine(Path.GetTempPath(), $"forkline-cost-perf-{Environment.ProcessId}.data");
        try
        {
            await using (var observer = await Observer.StartAsync(kind, _setup, ObserverOutput.Piped,
                             profiler: ["perf", "record", "-q", "-F", "999", "-o", samples, "--"]))
            {
                var perf = observer.Sink!;
                var recorder = new StdoutRecorder(perf, "{");
                for (var waited = Stopwatch.StartNew(); recorder.FirstLine is null; await Task.Delay(20))
                {
                    perf.ThrowIfExited("before forkline printed its first event");
                    if (waited.Elapsed > Patience) throw new TimeoutException($"{observer.Name} under perf printed nothing within {Patience.TotalSeconds} s");
                }
                await perf.KillChildrenAndWaitAsync(Patience);
            }
            using var report = Start("perf", ["report", "-i", samples, "--stdio", "--sort", "dso", "-q"]);
            var lines = await report.StandardOutput.ReadToEndAsync();
            await report.WaitForExitAsync();
            double Share(string dso) => lines.Split('\n').Where(line => line.Contains(dso, StringComparison.Ordinal))
                .Sum(line => double.Parse(line.Trim().Split('%')[0], CultureInfo.InvariantCulture));
            return new StartupProfile(Share("libclrjit.so"), Share("libcoreclr.so"));
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException or FormatException)
        {
            output.WriteLine($"  {Observer.NameOf(kind)}: no start-up profile (perf record failed: {e.Message.Split('\n')[0]})");
            return null;
        }
        finally
        {
            File.Delete(samples);
        }
    }

    /// <summary>
    /// `forkline run --json >/dev/null` with a policy hooking getppid, under bench/c/load (4 threads calling
    /// getppid, pinned to one CPU): hook events published by its process actors per second (from the load's
    /// start until it is quiet again) and its CPU per hook event.
    /// </summary>
    private async Task<HookRun> MeasureHooksAsync(TextWriter output)
    {
        var policy = Path.Combine(Path.GetTempPath(), $"forkline-cost-hooks-{Environment.ProcessId}.json");
        await File.WriteAllTextAsync(policy, """{ "hooks": [ { "name": "getppid", "syscall": "getppid", "phase": "enter" } ] }""");
        try
        {
            await using var observer = await Observer.StartAsync(ObserverKind.RunToNull, _setup, ObserverOutput.Discarded, policy);
            await WaitReadyAsync(observer, recorder: null);
            await LoadRate(Track(StartLoad(_setup.Native.Tools, 1)));
            await WaitQuietAsync(observer, "after the warm-up load", storm: null, 0);
            var process = observer.Sink!;
            var eventsBefore = await observer.MetricAsync("forkline_events_published_total", "kind=\"hook\"");
            var lostBefore = await observer.MetricAsync("forkline_bpf_lost_events_total", "kind=\"hook\"");
            var cpuBefore = process.CpuMicroseconds();
            var elapsed = Stopwatch.StartNew();
            var loadRate = await LoadRate(Track(StartLoad(_setup.Native.Tools, HookSeconds)));
            await WaitQuietAsync(observer, "after the hook storm", storm: null, 0);
            // Its stdout can pause for longer than the quiet window while it still drains the storm (on 7 December two runs
            // read 263,596 and 336,786 of 600,000+ hook events that way, and all were published seconds later): the storm
            // is over once the published count stops growing too.
            var (published, lastGrowth) = await PublishedHooksSettledAsync(observer, elapsed);
            var seconds = lastGrowth.TotalSeconds;
            var cpu = process.CpuMicroseconds() - cpuBefore;
            var events = published - eventsBefore;
            var lost = await observer.MetricAsync("forkline_bpf_lost_events_total", "kind=\"hook\"") - lostBefore;
            observer.ThrowIfExited("during the hook storm");
            if (events <= 0) throw new InvalidOperationException($"{observer.Name} published no hook event during a getppid load of {loadRate:N0} calls/s");
            output.WriteLine($"hook storm: getppid load {loadRate:N0} calls/s for {HookSeconds} s; forkline run published {events:N0} hook events, " +
                             $"{lost:N0} lost in the ring, in {seconds:F2} s");
            return new HookRun(events / seconds, cpu * 1000 / events, lost);
        }
        finally
        {
            File.Delete(policy);
        }
    }

    /// <summary>
    /// Issue 15's limit: two collector-node + gateway pairs at once, one with container identity (the
    /// default) and one without, watching the same <see cref="Rounds"/> storms; the median over the storms of
    /// the collector-nodes' CPU ratio, each storm measured on both at the same moment (paired, so the
    /// machine's drift cancels).
    /// </summary>
    private async Task<double> MeasureContainerIdentityAsync(TextWriter output)
    {
        await using var on = await Observer.StartAsync(ObserverKind.NodeAndGateway, _setup, ObserverOutput.Discarded);
        await using var off = await Observer.StartAsync(ObserverKind.NodeAndGateway, _setup, ObserverOutput.Discarded, containerIdentity: false);
        Observer[] pairs = [on, off];
        foreach (var pair in pairs) await WaitReadyAsync(pair, recorder: null);
        var warmUp = await StormAsync(WarmUpProcesses);
        foreach (var pair in pairs) await WaitQuietAsync(pair, "after the warm-up storm", warmUp, WarmUpProcesses);
        var ratios = new List<double>();
        for (var round = 1; round <= Rounds; round++)
        {
            // Processes[0] of a pair is its collector-node.
            var before = pairs.Select(pair => pair.Processes[0].CpuMicroseconds()).ToArray();
            var storm = await StormAsync(_setup.Processes);
            foreach (var pair in pairs) await WaitQuietAsync(pair, "after a container identity storm", storm, _setup.Processes);
            var micros = pairs.Select((pair, i) => (pair.Processes[0].CpuMicroseconds() - before[i]) / _setup.Processes).ToArray();
            foreach (var pair in pairs) pair.ThrowIfExited("during a container identity storm");
            output.WriteLine($"  [{Clock}] container identity storm {round}: collector-node CPU us/process on {micros[0]:N0}, off {micros[1]:N0}");
            ratios.Add(micros[0] / micros[1]);
        }
        return Median(ratios);
    }

    /// <summary>
    /// Ready = an event of a probe process (a storm of one) came out: on the pipe, in the journal (`run`,
    /// the pair), or as bytes written (bpftrace, `collector` to /dev/null: twice in a row, so a message
    /// written while attaching does not count). The C consumer is ready once it printed "ready".
    /// </summary>
    private async Task WaitReadyAsync(Observer observer, StdoutRecorder? recorder)
    {
        if (observer.Kind == ObserverKind.CConsumer) return;
        var waited = Stopwatch.StartNew();
        var exact = recorder is not null || observer.Journal is not null;
        var confirmed = 0;
        while (true)
        {
            observer.ThrowIfExited("before its first event");
            var written = observer.Sink!.WrittenBytes();
            var probe = await StormAsync(1);
            var seen = false;
            for (var polled = Stopwatch.StartNew(); !seen && polled.Elapsed < ProbeWait; await Task.Delay(100))
            {
                if (recorder is not null) seen = CostLatency.StdoutMilliseconds(recorder.Execs(), probe.Pid).Count > 0;
                else if (observer.Journal is { } journal)
                {
                    await journal.ReadAsync();
                    seen = journal.Count(probe.Pid, WireEventKind.Exec) > 0;
                }
                else seen = observer.Sink.WrittenBytes() > written;
            }
            confirmed = seen ? confirmed + 1 : 0;
            if (confirmed >= (exact ? 1 : 2)) return;
            if (waited.Elapsed > Patience)
                throw new TimeoutException($"{observer.Name} showed no event of a probe process within {Patience.TotalSeconds} s; its stderr ends:\n{observer.Sink.LogTail()}");
        }
    }

    /// <summary>
    /// Until the observer has caught up: a journaling one has stored the exec and exit of every process of
    /// <paramref name="storm"/> (a collector-node starved of CPU leaves its gateway silent for a while, so
    /// silence alone does not say it is done; it gives up after <see cref="GiveUpSilence"/> without a write,
    /// the missing events then show in the figures), and then the observer's sink wrote nothing for
    /// <see cref="QuietFor"/> (the C consumer: just that long).
    /// </summary>
    private static async Task WaitQuietAsync(Observer observer, string when, StormResult? storm, int processes)
    {
        var waited = Stopwatch.StartNew();
        if (observer.Journal is { } journal && storm is not null)
        {
            var lastWritten = observer.Sink!.WrittenBytes();
            var silentSince = waited.Elapsed;
            while (true)
            {
                await journal.ReadAsync();
                if (journal.Count(storm.Pid, WireEventKind.Exec) >= processes && journal.Count(storm.Pid, WireEventKind.Exit) >= processes) break;
                observer.ThrowIfExited(when);
                var writtenNow = observer.Sink.WrittenBytes();
                if (writtenNow != lastWritten) (lastWritten, silentSince) = (writtenNow, waited.Elapsed);
                if (waited.Elapsed - silentSince > GiveUpSilence || waited.Elapsed > Patience) break;
                await Task.Delay(200);
            }
        }
        if (observer.Sink is not { } sink)
        {
            await Task.Delay(QuietFor);
            observer.ThrowIfExited(when);
            return;
        }
        var written = sink.WrittenBytes();
        var quietSince = waited.Elapsed;
        while (waited.Elapsed - quietSince < QuietFor)
        {
            await Task.Delay(50);
            observer.ThrowIfExited(when);
            var now = sink.WrittenBytes();
            if (now != written) (written, quietSince) = (now, waited.Elapsed);
            if (waited.Elapsed > Patience)
                throw new TimeoutException($"{observer.Name} never went quiet for {QuietFor.TotalMilliseconds} ms within {Patience.TotalSeconds} s {when}");
        }
    }

    /// <param name="perSecond">A trickle: at most this many processes started per second (0: as fast as they go).</param>
    private async Task<StormResult> StormAsync(int processes, double perSecond = 0)
    {
        using var storm = Track(Start(_setup.Storm, ["-n", Invariant(processes), "-j", Invariant(StormWorkers), "-r", Invariant(perSecond)]));
        var line = (await ReadToExit(storm, "storm"))[^1];
        return new StormResult(Field(line, "seconds"), (int)Field(line, "pid"));
    }

    private static Process Track(Process process)
    {
        ChildProcesses.Track(process);
        return process;
    }

    /// <summary>Prints the rounds and adds the storm figures; returns bpftrace's CPU per storm process (the headline's unit).</summary>
    private double PrintStorms(TextWriter output, FiguresTable table, List<double> baseline, Dictionary<ObserverKind, List<StormRun>> runs)
    {
        output.WriteLine();
        output.WriteLine($"storm of {_setup.Processes:N0} processes                                  rounds                                       median");
        Row(output, "storm s, no observer", baseline, "F2");
        foreach (var kind in Kinds) Row(output, $"storm s, {Observer.NameOf(kind)}", runs[kind].ConvertAll(r => r.Seconds), "F2");
        // Each round's storm against that round's storm without observer: slow drift of the machine cancels out.
        var slowdown = new Dictionary<ObserverKind, double>();
        foreach (var kind in Kinds)
            slowdown[kind] = Row(output, $"slowdown %, {Observer.NameOf(kind)}", runs[kind].Select((r, round) => (r.Seconds / baseline[round] - 1) * 100).ToList(), "F1");
        var cpu = new Dictionary<string, double>();
        var memory = new Dictionary<string, (double RssMiB, double Threads)>();
        foreach (var kind in Kinds)
            foreach (var name in runs[kind][0].Processes.Select(p => p.Name))
            {
                var label = ProcessLabel(kind, name);
                cpu[label] = Row(output, $"CPU us/process, {label}", runs[kind].ConvertAll(r => r.Cost(name).CpuMicroseconds));
                memory[label] = (Median(runs[kind].ConvertAll(r => r.Cost(name).ResidentKiB / 1024.0)), Median(runs[kind].ConvertAll(r => (double)r.Cost(name).Threads)));
            }
        var journal = new Dictionary<ObserverKind, (double P50, double P99)>();
        foreach (var kind in Kinds.Where(k => runs[k][0].Journal.Count > 0))
            journal[kind] = (Row(output, $"kernel->journal p50 ms, {Observer.NameOf(kind)}", runs[kind].ConvertAll(r => CostLatency.Percentile(r.Journal, 50)), "F1"),
                Row(output, $"kernel->journal p99 ms, {Observer.NameOf(kind)}", runs[kind].ConvertAll(r => CostLatency.Percentile(r.Journal, 99)), "F1"));

        var trickle = new Dictionary<string, double>();
        var pair = runs[ObserverKind.NodeAndGateway];
        foreach (var name in pair[0].Trickle!.Select(p => p.Name))
            trickle[ProcessLabel(ObserverKind.NodeAndGateway, name)] = Row(output,
                $"trickle ({TricklePerSecond:N0}/s) CPU us/process, {name}", pair.ConvertAll(r => r.Trickle!.Single(p => p.Name == name).CpuMicroseconds));

        var bpftrace = cpu[Observer.NameOf(ObserverKind.Bpftrace)];
        // The gateway's target is per stored process: its exec and exit.
        string PerStored(string label) => label == GatewayLabel ? label + ", per stored exec+exit" : label;
        foreach (var (label, value) in cpu)
            table.Add($"CPU per storm process: {PerStored(label)}", value, "us", 150, higherIsBetter: false, hasTarget: label == GatewayLabel, orEqual: true);
        foreach (var (label, value) in trickle)
            table.Add($"CPU per trickle process ({TricklePerSecond:N0}/s): {PerStored(label)}", value, "us", 150, higherIsBetter: false, hasTarget: label == GatewayLabel, orEqual: true);
        foreach (var (label, value) in cpu.Where(c => c.Key != Observer.NameOf(ObserverKind.Bpftrace)))
        {
            double? target = label == CollectorNodeLabel ? 0.5 : label.StartsWith("forkline run", StringComparison.Ordinal) ? 1.0 : null;
            table.Add($"CPU per process / bpftrace's: {label}", value / bpftrace, "x", target ?? 0, higherIsBetter: false, hasTarget: target is not null, orEqual: true);
        }
        foreach (var kind in Kinds)
        {
            var isRun = kind is ObserverKind.RunToNull or ObserverKind.RunToFile;
            table.Add($"storm slowdown: {Observer.NameOf(kind)}", slowdown[kind], "%", slowdown[ObserverKind.Bpftrace], higherIsBetter: false, hasTarget: isRun, orEqual: true);
        }
        foreach (var (kind, (p50, p99)) in journal)
        {
            table.Add($"kernel -> journal p50: {Observer.NameOf(kind)}", p50, "ms", 0, higherIsBetter: false, hasTarget: false);
            table.Add($"kernel -> journal p99: {Observer.NameOf(kind)}", p99, "ms", 1000, higherIsBetter: false, orEqual: true);
        }
        foreach (var (label, (rss, threads)) in memory)
        {
            table.Add($"RSS after the storm: {label}", rss, "MiB", 0, higherIsBetter: false, hasTarget: false);
            table.Add($"threads: {label}", threads, "", 0, higherIsBetter: false, hasTarget: false);
        }
        return bpftrace;
    }

    /// <summary>
    /// The floor of the design (DESIGN.md: one Akka actor per thread-group leader) measured in this process, with
    /// nothing else: synthetic exec + exit pairs through the process router, a new process actor each (released
    /// <see cref="FloorGrace"/> after its exit, as a node releases it after its grace), into a sink that only counts.
    /// No kernel, no decoding, no formatting, no sending or journal; tier-1 code after a warm-up and hot caches.
    /// A real process is a clone, an exec and an exit: a node observing it does at least this much for it.
    /// CPU of this whole process per pair (its other threads idle meanwhile), median of <see cref="Rounds"/> rounds.
    /// </summary>
    private static async Task<List<double>> MeasureActorFloorAsync(TextWriter output)
    {
        await using var workload = new ProcessActorsWorkload(exitGracePeriod: FloorGrace);
        // Twice, each followed by a pause for the runtime's background compilation: a first measured round after one
        // warm-up still paid for tier-1 code (66.8 and 50.4 us against 17-29 us in the rounds after it).
        for (var warmUp = 0; warmUp < 2; warmUp++)
        {
            workload.Feed(workload.ExecExitPairs(FloorPairs));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        var rounds = new List<double>();
        using var self = Process.GetCurrentProcess();
        for (var round = 0; round < Rounds; round++)
        {
            var pairs = workload.ExecExitPairs(FloorPairs);
            self.Refresh();
            var before = self.TotalProcessorTime;
            workload.Feed(pairs);
            // The actors' release after their grace belongs to the pair too.
            await Task.Delay(FloorGrace * 5);
            self.Refresh();
            rounds.Add((self.TotalProcessorTime - before).TotalMicroseconds / FloorPairs);
        }
        output.WriteLine($"the design's floor: {FloorPairs:N0} synthetic exec+exit pairs through the process router and a new process actor each, " +
                         $"in the benchmark's own process (no kernel, decoding, output, sending or journal), after two warm-ups of as many; rounds " +
                         string.Join(", ", rounds.Select(r => r.ToString("N1", CultureInfo.InvariantCulture))) + " us per process");
        return rounds;
    }

    private static void PrintActorFloor(TextWriter output, FiguresTable table, double bpftrace, List<double> rounds)
    {
        var floor = Median(rounds);
        table.Add("floor, process actors alone: CPU per process", floor, "us", 0, higherIsBetter: false, hasTarget: false);
        table.Add("floor, process actors alone / bpftrace's", floor / bpftrace, "x", 0, higherIsBetter: false, hasTarget: false);
        output.WriteLine($"  a node's CPU per process includes at least this floor: {floor / bpftrace:F2}x bpftrace's, against targets of 0.5x (collector-node) and 1.0x (run)");
    }

    private const string CollectorNodeLabel = "collector-node (of the pair)";
    private const string GatewayLabel = "gateway (of the pair)";

    private static string ProcessLabel(ObserverKind kind, string process) => kind != ObserverKind.NodeAndGateway
        ? Observer.NameOf(kind)
        : process.Contains("gateway", StringComparison.Ordinal) ? GatewayLabel : CollectorNodeLabel;

    private static void PrintIdle(FiguresTable table, string window, List<(string Name, double Percent)> idle)
    {
        foreach (var (name, percent) in idle)
        {
            double? target = name switch
            {
                "forkline collector-node" => 0.5,
                "forkline gateway" => 1,
                _ when name.StartsWith("forkline run", StringComparison.Ordinal) => 1,
                _ => null,
            };
            table.Add($"idle CPU, {window}: {name}", percent, "% of a core", target ?? 0, higherIsBetter: false, hasTarget: target is not null, orEqual: true);
        }
    }

    private static void PrintStdout(FiguresTable table, ObserverKind kind, StdoutRun run, StartupProfile? profile)
    {
        var name = kind == ObserverKind.Collector ? "forkline collector --json" : "forkline run --json";
        table.Add($"start-up to first printed event: {name}", run.FirstLine.TotalMilliseconds, "ms", 0, higherIsBetter: false, hasTarget: false);
        table.Add($"CPU until the first printed event: {name}", run.FirstLineCpu.TotalMilliseconds, "ms", 0, higherIsBetter: false, hasTarget: false);
        if (profile is not null)
        {
            table.Add($"start-up CPU in the JIT (libclrjit): {name}", profile.JitPercent, "% of samples", 0, higherIsBetter: false, hasTarget: false);
            table.Add($"start-up CPU in the runtime (libcoreclr): {name}", profile.RuntimePercent, "% of samples", 0, higherIsBetter: false, hasTarget: false);
        }
        table.Add($"kernel -> stdout p50: {name}", CostLatency.Percentile(run.Latencies, 50), "ms", 0, higherIsBetter: false, hasTarget: false);
        table.Add($"kernel -> stdout p99: {name}", CostLatency.Percentile(run.Latencies, 99), "ms", 100, higherIsBetter: false, orEqual: true);
    }

    /// <summary>Polls the published hook count until it holds still for <see cref="QuietFor"/>; the count and when it last grew.</summary>
    private static async Task<(double Count, TimeSpan LastGrowth)> PublishedHooksSettledAsync(Observer observer, Stopwatch elapsed)
    {
        var count = await observer.MetricAsync("forkline_events_published_total", "kind=\"hook\"");
        var lastGrowth = elapsed.Elapsed - QuietFor;
        while (true)
        {
            if (elapsed.Elapsed > Patience)
                throw new TimeoutException($"{observer.Name} still published hook events {Patience.TotalSeconds} s after the hook storm began");
            await Task.Delay(QuietFor);
            var now = await observer.MetricAsync("forkline_events_published_total", "kind=\"hook\"");
            if (now == count) return (count, lastGrowth);
            count = now;
            lastGrowth = elapsed.Elapsed;
        }
    }

    private static void PrintHooks(FiguresTable table, HookRun run)
    {
        table.Add("hook storm, forkline run: hook events/s", run.EventsPerSecond, "events/s", 0, higherIsBetter: true, hasTarget: false);
        table.Add("hook storm, forkline run: CPU per hook event", run.CpuNsPerEvent, "ns", 0, higherIsBetter: false, hasTarget: false);
        table.Add("hook storm, forkline run: lost in the ring", run.Lost, "events", 0, higherIsBetter: false, hasTarget: false);
    }

    private sealed record StormResult(double Seconds, int Pid);

    private sealed record ProcessCost(string Name, double CpuMicroseconds, long ResidentKiB, long Threads);

    /// <param name="Trickle">The pair only: CPU per process of a trickle after the storm.</param>
    private sealed record StormRun(double Seconds, List<ProcessCost> Processes, List<double> Journal, List<ProcessCost>? Trickle)
    {
        public ProcessCost Cost(string process) => Processes.Single(p => p.Name == process);
    }

    private sealed record StdoutRun(string Observer, TimeSpan FirstLine, TimeSpan FirstLineCpu, List<double> Latencies);

    private sealed record StartupProfile(double JitPercent, double RuntimePercent);

    private sealed record HookRun(double EventsPerSecond, double CpuNsPerEvent, double Lost);
}

/// <summary>What the cost figures run: the native bench, the forkline binary, bpftrace, the storm driver and the sizes.</summary>
internal sealed record CostSetup(NativeBench Native, string Forkline, string Bpftrace, string Storm, int Processes, int IdleSeconds);
