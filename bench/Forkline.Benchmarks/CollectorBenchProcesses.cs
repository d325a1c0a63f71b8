using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Forkline.Benchmarks;

/// <summary>
/// The native side of the collector and cost figures: bench/c's load generator, exec storm and C libbpf
/// consumer run as child processes, plus the libc calls the figures need (CPU pinning, CPU time, signals).
/// </summary>
internal static partial class CollectorBenchProcesses
{
    public const int LoadCpu = 0;
    public const int ConsumerCpu = 1;
    private const int LoadThreads = 4;
    private const int ResourceUsageSelf = 0;
    private const int ClockThreadCpuTime = 3;

    /// <summary>The repository, its built BPF object and bench/c's tools (artifacts/bench).</summary>
    public sealed record NativeBench(string Repository, string BpfObject, string Tools);

    /// <summary>
    /// What every figure on the real kernel needs: root, the repository, its BPF object and bench/c built.
    /// Null, with a printed "<paramref name="figures"/> figures skipped: why", when something is missing.
    /// </summary>
    public static NativeBench? PrepareNative(string figures, string rerun, TextWriter output)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            output.WriteLine($"{figures} figures skipped: not root — loading BPF programs needs root (sudo {rerun})");
            return null;
        }
        var repository = FindRepository();
        if (repository is null)
        {
            output.WriteLine($"{figures} figures skipped: Forkline.slnx not found above {Environment.CurrentDirectory} — run from the repository");
            return null;
        }
        var bpfObject = Path.Combine(repository, "artifacts/bpf/forkline.bpf.o");
        if (!File.Exists(bpfObject))
        {
            output.WriteLine($"{figures} figures skipped: {bpfObject} is missing — build it with: dotnet pwsh ./build.ps1 bpf");
            return null;
        }
        var tools = BuildNativeTools(repository, figures, output);
        return tools is null ? null : new NativeBench(repository, bpfObject, tools);
    }

    private static string? FindRepository()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
                if (File.Exists(Path.Combine(directory.FullName, "Forkline.slnx"))) return directory.FullName;
        return null;
    }

    /// <summary>Builds bench/c (make is incremental); null and a printed reason when it fails.</summary>
    private static string? BuildNativeTools(string repository, string figures, TextWriter output)
    {
        var make = Run("make", ["-s", "-C", Path.Combine(repository, "bench/c")]);
        if (make.ExitCode == 0) return Path.Combine(repository, "artifacts/bench");
        output.WriteLine($"{figures} figures skipped: make -C bench/c failed (exit code {make.ExitCode}): {make.Error.Trim()} — install gcc and libbpf-dev (dotnet pwsh ./build.ps1 deps)");
        return null;
    }

    /// <summary>Starts the load: <see cref="LoadThreads"/> threads calling getppid, pinned to <see cref="LoadCpu"/>.</summary>
    public static Process StartLoad(string tools, double seconds) =>
        Start(Path.Combine(tools, "load"), ["-t", Invariant(LoadThreads), "-d", Invariant(seconds), "-c", Invariant(LoadCpu)]);

    /// <summary>Waits for a load started by <see cref="StartLoad"/>; its syscalls per second.</summary>
    public static async Task<double> LoadRate(Process load)
    {
        var lines = await ReadToExit(load, "load");
        return Field(lines[^1], "syscalls_per_sec");
    }

    /// <summary>Starts the C consumer pinned to <see cref="ConsumerCpu"/> and waits until it is attached.</summary>
    public static Task<Process> StartConsumer(string tools, string bpfObject, params string[] arguments) =>
        StartConsumer(tools, bpfObject, ConsumerCpu, arguments);

    /// <summary>Starts the C consumer, pinned to <paramref name="cpu"/> unless null, and waits until it is attached.</summary>
    public static async Task<Process> StartConsumer(string tools, string bpfObject, int? cpu, string[] arguments)
    {
        var consumer = Start(Path.Combine(tools, "consumer"), ["-o", bpfObject, .. arguments]);
        if (cpu is { } pinned) PinProcess(consumer.Id, pinned);
        var first = await consumer.StandardOutput.ReadLineAsync();
        if (first == "ready") return consumer;
        await consumer.WaitForExitAsync();
        throw new InvalidOperationException(
            $"C consumer {string.Join(' ', arguments)} did not attach (first line '{first}', exit code {consumer.ExitCode}): {await consumer.StandardError.ReadToEndAsync()}");
    }

    /// <summary>Waits for a process to exit successfully; its stdout lines.</summary>
    public static async Task<List<string>> ReadToExit(Process process, string what)
    {
        var lines = new List<string>();
        while (await process.StandardOutput.ReadLineAsync() is { } line) lines.Add(line);
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 || lines.Count == 0)
            throw new InvalidOperationException($"{what} failed (exit code {process.ExitCode}): {await process.StandardError.ReadToEndAsync()}");
        return lines;
    }

    /// <summary>The number after "key=" in a line of key=value pairs.</summary>
    public static double Field(string line, string key)
    {
        foreach (var pair in line.Split(' '))
            if (pair.StartsWith(key + "=", StringComparison.Ordinal))
                return double.Parse(pair.AsSpan(key.Length + 1), CultureInfo.InvariantCulture);
        throw new FormatException($"no '{key}=' in the line '{line}'");
    }

    /// <summary>Pins the calling thread (pid 0 = the caller) or a process.</summary>
    public static void PinProcess(int pid, int cpu)
    {
        var mask = 1UL << cpu;
        if (SchedSetAffinity(pid, sizeof(ulong), ref mask) != 0)
            throw new InvalidOperationException($"sched_setaffinity(pid {pid}, cpu {cpu}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>User + system CPU time of this whole process (every thread, the GC's included), in ns.</summary>
    public static long ProcessCpuNanoseconds()
    {
        if (GetResourceUsage(ResourceUsageSelf, out var usage) != 0)
            throw new InvalidOperationException($"getrusage(RUSAGE_SELF) failed: errno {Marshal.GetLastPInvokeError()}");
        return (usage.UserSeconds + usage.SystemSeconds) * 1_000_000_000 + (usage.UserMicroseconds + usage.SystemMicroseconds) * 1_000;
    }

    /// <summary>CPU time of the calling thread, in ns.</summary>
    public static long ThreadCpuNanoseconds()
    {
        if (ClockGetTime(ClockThreadCpuTime, out var time) != 0)
            throw new InvalidOperationException($"clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed: errno {Marshal.GetLastPInvokeError()}");
        return time.Seconds * 1_000_000_000 + time.Nanoseconds;
    }

    /// <summary>Starts a child process with its stdout and stderr read by this process.</summary>
    public static Process Start(string file, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        return Process.Start(start) ?? throw new InvalidOperationException($"starting {file} failed");
    }

    /// <summary>Sends a signal (e.g. SIGTERM, so that a process can report before it ends); false when it is gone.</summary>
    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;

    public const int SigInt = 2;
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private static (int ExitCode, string Error) Run(string file, string[] arguments)
    {
        using var process = Start(file, arguments);
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error.Result);
    }

    public static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nuint maskSize, ref ulong mask);

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetResourceUsage(int who, out ResourceUsage usage);

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>struct rusage on x86_64: two timevals, then 14 longs this code does not read.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct ResourceUsage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        private fixed long _counters[14];
    }
}
