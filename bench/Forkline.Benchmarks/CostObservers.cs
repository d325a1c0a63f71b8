using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Forkline.Gateway.Tests.Support;
using static Forkline.Benchmarks.CollectorBenchProcesses;

namespace Forkline.Benchmarks;

/// <summary>The observers of the cost figures, in the order each round runs them.</summary>
internal enum ObserverKind
{
    Bpftrace,
    CConsumer,
    Collector,
    RunToNull,
    RunToFile,
    NodeAndGateway,
}

/// <summary>Where an observer's stdout goes.</summary>
internal enum ObserverOutput
{
    /// <summary>/dev/null (or, for `run` to a file, its --output-file): the CPU passes.</summary>
    Discarded,

    /// <summary>A pipe this process reads, stamping each line's arrival: the latency pass.</summary>
    Piped,
}

/// <summary>
/// One process of an observer. Started through /bin/sh, which sets up its stdout and stderr and then
/// execs it: the pid is the observer's own, and its stderr goes to a log printed when it fails.
/// </summary>
internal sealed class ObserverProcess
{
    private readonly Process _process;
    private readonly Func<string> _logTail;
    private readonly CpuAccount _cpu;

    private ObserverProcess(string name, Process process, Func<string> logTail)
    {
        Name = name;
        _process = process;
        _logTail = logTail;
        Started = Stopwatch.GetTimestamp();
        _cpu = CpuAccount.For(process.Id);
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public long Started { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The stdout pipe (<see cref="ObserverOutput.Piped"/> only).</summary>
    public StreamReader StandardOutput => _process.StandardOutput;

    /// <param name="stdout">A file for stdout, or null for a pipe to this process.</param>
    public static ObserverProcess Start(string name, string file, IEnumerable<string> arguments, string? stdout, string errorLog,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        // sh -c SCRIPT sh ERR [OUT] FILE ARGS...: the script redirects, then execs FILE with ARGS.
        var script = stdout is null ? "err=$1; shift; exec \"$@\" 2>\"$err\"" : "err=$1; out=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"";
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = stdout is null, RedirectStandardInput = true };
        foreach (var argument in (string[])["-c", script, "sh", errorLog]) start.ArgumentList.Add(argument);
        if (stdout is not null) start.ArgumentList.Add(stdout);
        start.ArgumentList.Add(file);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"starting {file} failed");
        ChildProcesses.Track(process);
        return new ObserverProcess(name, process, () => File.Exists(errorLog) ? string.Join('\n', File.ReadLines(errorLog).TakeLast(20)) : "(no stderr log)");
    }

    /// <summary>A process started elsewhere with its stderr piped to this process (the C consumer).</summary>
    public static ObserverProcess Wrap(string name, Process process)
    {
        ChildProcesses.Track(process);
        return new ObserverProcess(name, process, () => process.HasExited ? process.StandardError.ReadToEnd() : "(still running)");
    }

    /// <summary>Throws, with the end of its stderr, when the process has died.</summary>
    public void ThrowIfExited(string when)
    {
        if (!_process.HasExited) return;
        throw new InvalidOperationException($"{Name} (pid {Pid}) died {when}, exit code {_process.ExitCode}; its stderr ends:\n{LogTail()}");
    }

    public string LogTail() => _logTail();

    /// <summary>CPU time of the process since it was started here, all its threads (ended ones included): <see cref="CpuAccount"/>.</summary>
    public double CpuMicroseconds() => Read(_cpu.Microseconds);

    public long WrittenBytes() => Read(ProcFs.WrittenBytes);

    public long ResidentKiB() => Read(ProcFs.ResidentKiB);

    public long Threads() => Read(ProcFs.Threads);

    /// <summary>A /proc read that finds the process gone (or a zombie) fails as its death: exit code and stderr.</summary>
    private T Read<T>(Func<int, T> read)
    {
        try
        {
            return read(Pid);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            _process.WaitForExit(1000);
            ThrowIfExited("while it was measured");
            throw;
        }
    }

    /// <summary>SIGTERM, then SIGKILL if it has not ended within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            _cpu.Remove();
            return;
        }
        Signal(_process.Id, SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _cpu.Remove();
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _cpu.Remove();
    }

    /// <summary>SIGKILL to the children of this process (a profiler's workload), then waits until this process has ended.</summary>
    public async Task KillChildrenAndWaitAsync(TimeSpan patience)
    {
        var children = File.ReadAllText($"/proc/{Pid}/task/{Pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        foreach (var child in children) Signal(int.Parse(child, CultureInfo.InvariantCulture), SigKill);
        using var timeout = new CancellationTokenSource(patience);
        await _process.WaitForExitAsync(timeout.Token);
    }
}

/// <summary>
/// Every child process the cost figures start, so that none outlives the benchmark: killed when the
/// figures end (each observer's finally) and, as a last resort, when this process exits (SIGTERM
/// included) or gets Ctrl-C; then the temporary folders of observers still running are removed too.
/// </summary>
internal static class ChildProcesses
{
    private static readonly List<Process> Started = [];
    private static readonly HashSet<string> Folders = [];
    private static bool _hooked;

    public static void Track(Process process)
    {
        lock (Started)
        {
            Started.RemoveAll(Ended);
            Started.Add(process);
            Hook();
        }
    }

    /// <summary>A temporary folder to remove at the latest when this process exits; <paramref name="track"/> false: it was removed.</summary>
    public static void TrackFolder(string folder, bool track)
    {
        lock (Started)
        {
            if (track) Folders.Add(folder);
            else Folders.Remove(folder);
            Hook();
        }
    }

    private static void Hook()
    {
        if (_hooked) return;
        _hooked = true;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    public static void KillAll()
    {
        lock (Started)
        {
            foreach (var process in Started)
            {
                try
                {
                    if (!Ended(process)) process.Kill();
                }
                catch (InvalidOperationException)
                {
                    // ended meanwhile
                }
            }
            Started.Clear();
            foreach (var folder in Folders)
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // left in the temp folder
                }
            }
            Folders.Clear();
        }
    }

    /// <summary>Exited, or already disposed by its owner (which only disposes a process that ended).</summary>
    private static bool Ended(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}

/// <summary>
/// The CPU time of one observer process to the microsecond: a cgroup (v2) of its own, whose cpu.stat counts every thread
/// the process and its children ran, those ended included. /proc/PID/stat counts in clock ticks of 10 ms, and bpftrace,
/// the yardstick, spends 4-6 of them on a storm of 1,500 processes: one tick more or less moved every ratio against it
/// by a fifth. Without a cgroup v2 hierarchy to write to, the clock ticks (the figures' first line says which).
/// </summary>
internal sealed class CpuAccount
{
    private const string Prefix = "forkline-bench-";
    private static readonly string? Root = FindRoot();
    private readonly string? _cgroup;

    private CpuAccount(string? cgroup) => _cgroup = cgroup;

    public static string Describe => Root is null
        ? $"CPU from /proc/PID/stat in clock ticks ({ProcFs.TicksPerSecond}/s): no cgroup v2 hierarchy to write to"
        : $"CPU from each observer's own cgroup (usage_usec of cpu.stat under {Root})";

    /// <summary>Moves <paramref name="pid"/> (all its threads) into a new cgroup; throws when that fails on a hierarchy this can write to.</summary>
    public static CpuAccount For(int pid)
    {
        if (Root is null) return new CpuAccount(null);
        var cgroup = Path.Combine(Root, Prefix + pid.ToString(CultureInfo.InvariantCulture));
        try
        {
            Directory.CreateDirectory(cgroup);
            File.WriteAllText(Path.Combine(cgroup, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"could not move pid {pid} into the cgroup {cgroup} that counts its CPU: {e.Message}", e);
        }
        return new CpuAccount(cgroup);
    }

    /// <summary>Removes the cgroups an earlier run left behind (killed before it could): those whose process is gone, so empty.</summary>
    public static void RemoveLeftovers(TextWriter output)
    {
        if (Root is null) return;
        foreach (var cgroup in Directory.EnumerateDirectories(Root, Prefix + "*"))
        {
            if (File.ReadAllText(Path.Combine(cgroup, "cgroup.procs")).Length > 0)
            {
                output.WriteLine($"cost figures: {cgroup} still holds processes (another benchmark running?); left as it is");
                continue;
            }
            new CpuAccount(cgroup).Remove();
        }
    }

    public double Microseconds(int pid) => _cgroup is null
        ? ProcFs.CpuMicroseconds(ProcFs.CpuTicks(pid))
        : UsageMicroseconds(_cgroup);

    /// <summary>Removes the cgroup of a process that has ended (an ended process leaves it empty).</summary>
    public void Remove()
    {
        if (_cgroup is null || !Directory.Exists(_cgroup)) return;
        try
        {
            Directory.Delete(_cgroup);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"cost figures: the cgroup {_cgroup} stays behind: {e.Message}");
        }
    }

    private static double UsageMicroseconds(string cgroup)
    {
        foreach (var line in File.ReadLines(Path.Combine(cgroup, "cpu.stat")))
            if (line.StartsWith("usage_usec ", StringComparison.Ordinal))
                return long.Parse(line.AsSpan("usage_usec ".Length), CultureInfo.InvariantCulture);
        throw new FormatException($"no usage_usec in {cgroup}/cpu.stat");
    }

    /// <summary>The hybrid layout's v2 hierarchy, or a pure v2 one; null when neither is mounted.</summary>
    private static string? FindRoot()
    {
        foreach (var root in (string[])["/sys/fs/cgroup/unified", "/sys/fs/cgroup"])
            if (File.Exists(Path.Combine(root, "cgroup.controllers")) && File.Exists(Path.Combine(root, "cgroup.procs"))) return root;
        return null;
    }
}

/// <summary>What /proc says about a process: CPU time, bytes written, memory, threads.</summary>
internal static partial class ProcFs
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK

    /// <summary>USER_HZ: the unit of utime and stime in /proc/PID/stat.</summary>
    public static readonly long TicksPerSecond = SysConf(ClockTicksName);

    /// <summary>utime + stime of the whole process (all its threads, those ended included), in clock ticks.</summary>
    public static long CpuTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command (field 2) is in parentheses and may hold spaces: fields count from the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    public static double CpuMicroseconds(long ticks) => ticks * 1e6 / TicksPerSecond;

    /// <summary>
    /// wchar of /proc/PID/io: bytes the process passed to write() and the like, whatever the target
    /// (/dev/null, a pipe, a file): grows exactly when an observer prints or its database writes.
    /// </summary>
    public static long WrittenBytes(int pid) => Field($"/proc/{pid}/io", "wchar:");

    public static long ResidentKiB(int pid) => Field($"/proc/{pid}/status", "VmRSS:");

    /// <summary>The anonymous part of the RSS (heaps, stacks, JIT code): what the process holds for itself.</summary>
    public static long ResidentAnonymousKiB(int pid) => Field($"/proc/{pid}/status", "RssAnon:");

    public static long Threads(int pid) => Field($"/proc/{pid}/status", "Threads:");

    private static long Field(string path, string key)
    {
        foreach (var line in File.ReadLines(path))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line.AsSpan(key.Length).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new FormatException($"no '{key}' in {path}");
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);
}

/// <summary>
/// One observer of the cost figures, started fresh: bpftrace, the C consumer, `forkline collector`,
/// `forkline run` (stdout to /dev/null or to a file) or a collector-node + gateway pair. Measured are
/// its processes' own CPU time, memory and threads; <see cref="Sink"/> is the process whose writes show
/// that events arrived (its stdout, or the gateway's journal).
/// </summary>
internal sealed class Observer : IAsyncDisposable
{
    public const string NodeName = "cost-bench";
    private const string BpftraceProgram =
        "tracepoint:sched:sched_process_exec { printf(\"exec %d %s\\n\", pid, comm); } " +
        "tracepoint:sched:sched_process_exit { printf(\"exit %d %s\\n\", pid, comm); }";
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly List<ObserverProcess> _processes = [];
    private readonly string _folder;
    private Process? _consumerProcess;

    private Observer(ObserverKind kind, string folder)
    {
        Kind = kind;
        _folder = folder;
    }

    public ObserverKind Kind { get; }

    public string Name => NameOf(Kind);

    /// <summary>The measured processes: one, or (collector-node + gateway) two, reported apart.</summary>
    public IReadOnlyList<ObserverProcess> Processes => _processes;

    /// <summary>The process whose written bytes grow with the events it gets (null: the C consumer, which writes nothing).</summary>
    public ObserverProcess? Sink { get; private set; }

    /// <summary>The journal (`run`'s, or the gateway's SQLite file), else null.</summary>
    public JournalTail? Journal { get; private set; }

    /// <summary>`run`'s HTTP API (its /metrics), else null.</summary>
    public string? HttpApi { get; private set; }

    public static string NameOf(ObserverKind kind) => kind switch
    {
        ObserverKind.Bpftrace => "bpftrace printf exec/exit",
        ObserverKind.CConsumer => "C libbpf consumer (no-op)",
        ObserverKind.Collector => "forkline collector --json",
        ObserverKind.RunToNull => "forkline run --json >/dev/null",
        ObserverKind.RunToFile => "forkline run --json --output-file",
        ObserverKind.NodeAndGateway => "collector-node + gateway",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Starts the observer; it is ready (attached, events flowing) when <see cref="WaitReadyAsync"/> returns.</summary>
    /// <param name="hooks">`run`: a hook policy file instead of the default one.</param>
    /// <param name="profiler">`collector` and `run`: a command that runs forkline (perf record ... --): then the observer's process is that command's.</param>
    /// <param name="containerIdentity">The pair: false starts its collector-node with <c>--container-identity false</c>.</param>
    public static async Task<Observer> StartAsync(ObserverKind kind, CostSetup setup, ObserverOutput output, string? hooks = null, string[]? profiler = null,
        bool containerIdentity = true)
    {
        var folder = Directory.CreateTempSubdirectory("forkline-cost-").FullName;
        ChildProcesses.TrackFolder(folder, track: true);
        var observer = new Observer(kind, folder);
        try
        {
            await observer.StartProcessesAsync(setup, output, hooks, profiler ?? [], containerIdentity);
            return observer;
        }
        catch
        {
            await observer.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessesAsync(CostSetup setup, ObserverOutput output, string? hooks, string[] profiler, bool containerIdentity)
    {
        ObserverProcess Forkline(string name, IEnumerable<string> arguments, string? stdout, string log) => profiler.Length == 0
            ? ObserverProcess.Start(name, setup.Forkline, arguments, stdout, log)
            : ObserverProcess.Start(name, profiler[0], [.. profiler[1..], setup.Forkline, .. arguments], stdout, log);

        var stdout = output == ObserverOutput.Piped ? null : "/dev/null";
        switch (Kind)
        {
            case ObserverKind.Bpftrace:
                Sink = Add(ObserverProcess.Start("bpftrace", setup.Bpftrace, ["-e", BpftraceProgram], stdout, Log("bpftrace")));
                break;
            case ObserverKind.CConsumer:
                // Today's product ring settings: 16 MiB, wakeup at 1/8 of it, a 2 ms drain timer. Not pinned, like the others.
                _consumerProcess = await StartConsumer(setup.Native.Tools, setup.Native.BpfObject, cpu: null,
                    ["-r", "16", "-w", Invariant(2 << 20), "-p", "2", "follow"]);
                _processes.Add(ObserverProcess.Wrap("C consumer", _consumerProcess));
                break;
            case ObserverKind.Collector:
                Sink = Add(Forkline("forkline collector", ["collector", "--json"], stdout, Log("collector")));
                break;
            case ObserverKind.RunToNull:
            case ObserverKind.RunToFile:
                var http = $"127.0.0.1:{TestNodes.FreePort()}";
                List<string> run =
                [
                    "run", "--json", "--node", NodeName, "--data", Path.Combine(_folder, "data"), "--cluster-port", "0",
                    "--api-http", http, "--api-grpc", $"127.0.0.1:{TestNodes.FreePort()}",
                ];
                if (Kind == ObserverKind.RunToFile) run.AddRange(["--output-file", Path.Combine(_folder, "events.json")]);
                if (hooks is not null) run.AddRange(["--hooks", hooks]);
                Sink = Add(Forkline("forkline run", run, stdout, Log("run")));
                Journal = new JournalTail(Path.Combine(_folder, "data", "forkline.db"));
                HttpApi = $"http://{http}";
                await WaitForHttpAsync(Sink, $"{HttpApi}/healthz");
                break;
            case ObserverKind.NodeAndGateway:
                var port = TestNodes.FreePort();
                var gatewayHttp = $"http://127.0.0.1:{TestNodes.FreePort()}";
                var ingest = $"127.0.0.1:{TestNodes.FreePort()}";
                // Loopback only: the cluster transport without TLS and the API without tokens are allowed there.
                var gateway = Add(ObserverProcess.Start("forkline gateway", setup.Forkline,
                [
                    "gateway", "--hostname", "127.0.0.1", "--port", Invariant(port), "--data", Path.Combine(_folder, "gateway"),
                    "--api-http", gatewayHttp["http://".Length..], "--api-grpc", $"127.0.0.1:{TestNodes.FreePort()}", "--ingest", ingest,
                ], "/dev/null", Log("gateway")));
                await WaitForHttpAsync(gateway, $"{gatewayHttp}/readyz");
                _processes.Insert(0, ObserverProcess.Start("forkline collector-node", setup.Forkline,
                [
                    "collector-node", "--gateway", ingest, "--node", NodeName,
                    "--container-identity", containerIdentity ? "true" : "false",
                ], "/dev/null", Log("collector-node")));
                Sink = gateway;
                Journal = new JournalTail(Path.Combine(_folder, "gateway", "forkline.db"));
                break;
        }
    }

    private ObserverProcess Add(ObserverProcess process)
    {
        _processes.Add(process);
        return process;
    }

    private string Log(string name) => Path.Combine(_folder, name + ".stderr");

    public void ThrowIfExited(string when)
    {
        foreach (var process in _processes) process.ThrowIfExited(when);
    }

    private static async Task WaitForHttpAsync(ObserverProcess process, string url)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            process.ThrowIfExited($"before {url} answered");
            try
            {
                using var response = await Http.GetAsync(url);
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            if (deadline.Elapsed > CostFigures.Patience)
                throw new TimeoutException($"{process.Name}: {url} did not answer 200 within {CostFigures.Patience.TotalSeconds} s; its stderr ends:\n{process.LogTail()}");
            await Task.Delay(250);
        }
    }

    /// <summary>The value of a counter (summed over its label sets matching <paramref name="labels"/>) on `run`'s /metrics.</summary>
    public async Task<double> MetricAsync(string name, string labels)
    {
        var text = await Http.GetStringAsync($"{HttpApi}/metrics");
        var sum = 0.0;
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Contains(labels, StringComparison.Ordinal) &&
                (line.Length > name.Length && line[name.Length] is '{' or ' '))
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        return sum;
    }

    /// <summary>
    /// Ends the observer: bpftrace and the C consumer get SIGTERM (they detach and, the C consumer, print
    /// how many records they drained: returned), SIGKILL after a grace period; forkline's processes get
    /// SIGKILL at once (a graceful stop flushes and reports for seconds, which measures nothing here).
    /// </summary>
    public async Task<string?> StopAsync()
    {
        foreach (var process in _processes)
        {
            if (Kind is ObserverKind.Bpftrace or ObserverKind.CConsumer) await process.StopAsync(StopGrace);
            else process.Kill();
        }
        if (_consumerProcess is null) return null;
        var line = await _consumerProcess.StandardOutput.ReadToEndAsync();
        return line.Trim();
    }

    public ValueTask DisposeAsync()
    {
        foreach (var process in _processes) process.Kill();
        _consumerProcess?.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
            ChildProcesses.TrackFolder(_folder, track: false);
        }
        catch (IOException)
        {
            // a file still held: left in the temp folder
        }
        return ValueTask.CompletedTask;
    }
}
