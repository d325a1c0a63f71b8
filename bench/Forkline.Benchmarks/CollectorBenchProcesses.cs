using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Forkline.Benchmarks;

/// <summary>
/// The native side of the collector figures: bench/c's load generator and C libbpf consumer run as
/// child processes, plus the two libc calls the figures need (CPU pinning, process CPU time).
/// </summary>
internal static partial class CollectorBenchProcesses
{
    public const int LoadCpu = 0;
    public const int ConsumerCpu = 1;
    private const int LoadThreads = 4;
    private const int ResourceUsageSelf = 0;
    private const int ClockThreadCpuTime = 3;

    /// <summary>Builds bench/c (make is incremental); null and a printed reason when it fails.</summary>
    public static string? BuildNativeTools(string repository, TextWriter output)
    {
        var make = Run("make", ["-s", "-C", Path.Combine(repository, "bench/c")]);
        if (make.ExitCode == 0) return Path.Combine(repository, "artifacts/bench");
        output.WriteLine($"collector figures skipped: make -C bench/c failed (exit code {make.ExitCode}): {make.Error.Trim()} — install gcc and libbpf-dev (dotnet pwsh ./build.ps1 deps)");
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
    public static async Task<Process> StartConsumer(string tools, string bpfObject, params string[] arguments)
    {
        var consumer = Start(Path.Combine(tools, "consumer"), ["-o", bpfObject, .. arguments]);
        PinProcess(consumer.Id, ConsumerCpu);
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

    private static Process Start(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        return Process.Start(start) ?? throw new InvalidOperationException($"starting {file} failed");
    }

    private static (int ExitCode, string Error) Run(string file, string[] arguments)
    {
        using var process = Start(file, arguments);
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error.Result);
    }

    public static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

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
