using System.Diagnostics;
using Forkline.Collector.Bpf;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Events;
using static Forkline.Benchmarks.CollectorBenchProcesses;

namespace Forkline.Benchmarks;

/// <summary>
/// Issue 3's collector figures (`figures Collector`, needs root): the C libbpf consumer (bench/c) against
/// the C# collector on the same getppid load — burst drain rate, live CPU per event and the load's
/// slowdown, lost records, bytes allocated per hook event. Each figure is the median of three rounds.
/// </summary>
public sealed class CollectorFigures : IQuickFigures
{
    private const int Rounds = 3;
    private const double LiveSeconds = 3;
    private const double BurstSeconds = 0.3;
    private const uint RingMiB = 64;
    private const uint RingBytes = RingMiB << 20;
    private const uint LiveWakeupBytes = 256 << 10;
    private const int DrainIntervalMs = 2;
    // The live C consumer outlasts the load a little, so it never stops measuring before the load ends.
    private const double ConsumerTailSeconds = 0.3;

    private string _tools = "";
    private string _bpfObject = "";

    public string Name => "Collector";

    public async Task RunAsync(TextWriter output)
    {
        if (!Prepare(output)) return;
        output.WriteLine($"collector figures: {RingMiB} MiB ring, getppid load of 4 threads on CPU {LoadCpu}, consumers on CPU {ConsumerCpu}, " +
                         $"median of {Rounds} rounds (live {LiveSeconds} s, burst {BurstSeconds} s; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        await LiveCollector(TimeSpan.FromSeconds(1)); // warm-up: the decoding path reaches tier-1 code before it is timed

        var noBpf = new List<double>();
        var withC = new List<Live>();
        var withCollector = new List<Live>();
        for (var round = 0; round < Rounds; round++)
        {
            noBpf.Add(await LoadRate(StartLoad(_tools, LiveSeconds)));
            withC.Add(await LiveC());
            withCollector.Add(await LiveCollector(TimeSpan.FromSeconds(LiveSeconds)));
        }
        var burstC = await BurstC();
        var burstCollector = new List<Burst>();
        for (var round = 0; round < Rounds; round++) burstCollector.Add(await BurstCollector());

        PrintBurst(output, burstC, burstCollector);
        PrintLive(output, noBpf, withC, withCollector);
        PrintAllocation(output, burstCollector);
    }

    private bool Prepare(TextWriter output)
    {
        var native = PrepareNative("collector", "dotnet pwsh ./build.ps1 bench figures Collector", output);
        if (native is null) return false;
        if (Environment.ProcessorCount < 2)
        {
            output.WriteLine($"collector figures skipped: {Environment.ProcessorCount} CPU — the load and the consumer need one CPU each");
            return false;
        }
        _bpfObject = native.BpfObject;
        _tools = native.Tools;
        return true;
    }

    private async Task<List<Burst>> BurstC()
    {
        var consumer = await StartConsumer(_tools, _bpfObject, "burst", "-r", Invariant(RingMiB), "-d", Invariant(BurstSeconds), "-k", Invariant(Rounds));
        // Runs until the consumer is done: its warm-up (a ring's worth of records) lasts as long as the load needs.
        using var load = StartLoad(_tools, 600);
        var lines = await ReadToExit(consumer, "C consumer burst");
        load.Kill();
        await load.WaitForExitAsync();
        var bursts = new List<Burst>();
        foreach (var line in lines)
        {
            if (Field(line, "lost") != 0) throw new InvalidOperationException($"C burst lost records (ring too small for the burst): {line}");
            bursts.Add(new Burst((long)Field(line, "records"), Field(line, "events_per_sec"), Field(line, "events_per_cpu_sec"), 0, 0));
        }
        return bursts;
    }

    private async Task<Burst> BurstCollector()
    {
        using var collector = BpfCollector.Start(Options(wakeupBytes: uint.MaxValue)); // nobody reads: never wake
        await LoadRate(StartLoad(_tools, BurstSeconds));
        await Task.Delay(10); // records reserved before the load ended get committed
        var drain = PinnedReader.DrainOnce(collector);
        var records = drain.Sink.Hooks + drain.Sink.Others;
        return new Burst(records, records / drain.Wall.TotalSeconds, records * 1e9 / drain.CpuNanoseconds,
            drain.AllocatedBytes / (double)records, collector.Metrics.Lost);
    }

    private async Task<Live> LiveC()
    {
        var consumer = await StartConsumer(_tools, _bpfObject, "live", "-r", Invariant(RingMiB), "-w", Invariant(LiveWakeupBytes), "-p", Invariant(DrainIntervalMs),
            "-d", Invariant(LiveSeconds + ConsumerTailSeconds));
        var loadRate = await LoadRate(StartLoad(_tools, LiveSeconds));
        var line = (await ReadToExit(consumer, "C consumer live"))[^1];
        var records = Field(line, "records");
        return new Live(loadRate, records / LiveSeconds, Field(line, "cpu_ns_per_record"), (long)Field(line, "lost"));
    }

    private async Task<Live> LiveCollector(TimeSpan duration)
    {
        using var collector = BpfCollector.Start(Options(LiveWakeupBytes));
        var reader = PinnedReader.Start(collector);
        var load = StartLoad(_tools, duration.TotalSeconds);
        var recordsBefore = collector.Metrics.Records;
        var cpuBefore = ProcessCpuNanoseconds();
        var loadRate = await LoadRate(load);
        await Task.Delay(2 * DrainIntervalMs);
        var cpu = ProcessCpuNanoseconds() - cpuBefore;
        var records = collector.Metrics.Records - recordsBefore;
        reader.Stop();
        return new Live(loadRate, records / duration.TotalSeconds, cpu / (double)records, collector.Metrics.Lost);
    }

    private BpfCollectorOptions Options(uint wakeupBytes) => new()
    {
        ObjectPath = _bpfObject,
        Hooks = HookPolicy.Create([HookSpec.Syscall("getppid", HookPhase.Enter)]),
        RingSizeBytes = RingBytes,
        WakeupBytes = wakeupBytes,
        DrainInterval = TimeSpan.FromMilliseconds(DrainIntervalMs),
        BootstrapFromProcfs = false,
    };

    private static void PrintBurst(TextWriter output, List<Burst> c, List<Burst> collector)
    {
        output.WriteLine();
        output.WriteLine("burst: the ring fills while nobody reads, then one drain empties it        rounds                               median");
        Row(output, "records per burst, C", c.ConvertAll(burst => (double)burst.Records));
        Row(output, "records per burst, C#", collector.ConvertAll(burst => (double)burst.Records));
        var cWall = Row(output, "C libbpf, no-op callback: events/s", c.ConvertAll(burst => burst.EventsPerSecond));
        var collectorWall = Row(output, "C# collector, decoding: events/s", collector.ConvertAll(burst => burst.EventsPerSecond));
        var cCpu = Row(output, "C libbpf, no-op callback: events/CPU-s", c.ConvertAll(burst => burst.EventsPerCpuSecond));
        var collectorCpu = Row(output, "C# collector, decoding: events/CPU-s", collector.ConvertAll(burst => burst.EventsPerCpuSecond));
        output.WriteLine($"  ratio C# / C by CPU time (target >= 0.8){collectorCpu / cCpu,78:F2}");
        output.WriteLine($"  ratio C# / C by wall time (preemption included){collectorWall / cWall,71:F2}");
        output.WriteLine($"  lost: C {string.Join(" / ", c.ConvertAll(burst => burst.Lost))}, C# {string.Join(" / ", collector.ConvertAll(burst => burst.Lost))}");
    }

    private static void PrintLive(TextWriter output, List<double> noBpf, List<Live> c, List<Live> collector)
    {
        output.WriteLine();
        output.WriteLine($"live: load and consumer together ({DrainIntervalMs} ms drain timer, wakeup at {LiveWakeupBytes >> 10} KiB)");
        Row(output, "load syscalls/s, no BPF", noBpf);
        Row(output, "load syscalls/s, C consumer", c.ConvertAll(live => live.LoadRate));
        Row(output, "load syscalls/s, C# collector", collector.ConvertAll(live => live.LoadRate));
        Row(output, "events/s, C consumer", c.ConvertAll(live => live.EventsPerSecond));
        Row(output, "events/s, C# collector", collector.ConvertAll(live => live.EventsPerSecond));
        var cCpu = Row(output, "consumer CPU ns/event, C (process)", c.ConvertAll(live => live.CpuNsPerEvent), "F1");
        var collectorCpu = Row(output, "consumer CPU ns/event, C# (process, GC incl.)", collector.ConvertAll(live => live.CpuNsPerEvent), "F1");
        output.WriteLine($"  ratio C# / C CPU per event (target <= 1.25){collectorCpu / cCpu,75:F2}");
        output.WriteLine($"  lost: C {string.Join(" / ", c.ConvertAll(live => live.Lost))}, C# {string.Join(" / ", collector.ConvertAll(live => live.Lost))}");
    }

    private static void PrintAllocation(TextWriter output, List<Burst> bursts)
    {
        output.WriteLine();
        var perEvent = Row(output, "bytes allocated per event, C# reader thread", bursts.ConvertAll(burst => burst.AllocatedBytesPerEvent), "F2");
        var eventSize = HookEventSize();
        output.WriteLine($"  a HookEvent object is {eventSize} B: beyond the event {perEvent - eventSize:F2} B per event (target 0; " +
                         "the host's exec strings and the drain's setup count here too)");
    }

    private static long HookEventSize()
    {
        var descriptor = new HookDescriptor(0, "getppid", HookKind.Syscall, false);
        HookEvent Create() => new(1, 1, 1, 1, descriptor, HookPhase.Enter, 110, 0, default, default, default, default);
        GC.KeepAlive(Create()); // JIT first
        var before = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(Create());
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>Prints one figure's rounds and median; returns the median.</summary>
    internal static double Row(TextWriter output, string label, List<double> rounds, string format = "N0")
    {
        var median = Median(rounds);
        output.WriteLine($"  {label,-46}{string.Join("", rounds.ConvertAll(value => value.ToString(format).PadLeft(15))),-51}{median.ToString(format),15}");
        return median;
    }

    internal static double Median(List<double> values)
    {
        var sorted = new List<double>(values);
        sorted.Sort();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private sealed record Burst(long Records, double EventsPerSecond, double EventsPerCpuSecond, double AllocatedBytesPerEvent, long Lost);

    private sealed record Live(double LoadRate, double EventsPerSecond, double CpuNsPerEvent, long Lost);

    private sealed class CountingSink : IKernelEventSink
    {
        public long Hooks { get; private set; }

        public long Others { get; private set; }

        public void OnEvent(KernelEvent kernelEvent)
        {
            if (kernelEvent is HookEvent) Hooks++;
            else Others++;
        }
    }

    /// <summary>
    /// Runs a collector on a thread pinned to the consumer CPU, measuring there: wall and CPU time,
    /// bytes allocated. DrainOnce runs it with its token already cancelled: exactly one drain of the ring.
    /// </summary>
    private sealed class PinnedReader
    {
        private readonly BpfCollector _collector;
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private readonly ManualResetEventSlim _running = new();
        private Exception? _failure;

        private PinnedReader(BpfCollector collector)
        {
            _collector = collector;
            _thread = new Thread(Read) { Name = "collector-figures-reader" };
        }

        public CountingSink Sink { get; } = new();

        public TimeSpan Wall { get; private set; }

        public long CpuNanoseconds { get; private set; }

        public long AllocatedBytes { get; private set; }

        public static PinnedReader Start(BpfCollector collector)
        {
            var reader = new PinnedReader(collector);
            reader._thread.Start();
            reader._running.Wait();
            return reader;
        }

        public static PinnedReader DrainOnce(BpfCollector collector)
        {
            var reader = new PinnedReader(collector);
            reader._stop.Cancel();
            reader._thread.Start();
            reader.Join();
            return reader;
        }

        public void Stop()
        {
            _stop.Cancel();
            Join();
        }

        private void Join()
        {
            _thread.Join();
            _stop.Dispose();
            _running.Dispose();
            if (_failure is not null) throw new InvalidOperationException("the collector's run failed", _failure);
        }

        private void Read()
        {
            try
            {
                PinProcess(0, ConsumerCpu);
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                var cpuBefore = ThreadCpuNanoseconds();
                var started = Stopwatch.GetTimestamp();
                _running.Set();
                _collector.Run(Sink, _stop.Token);
                Wall = Stopwatch.GetElapsedTime(started);
                CpuNanoseconds = ThreadCpuNanoseconds() - cpuBefore;
                AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            }
            catch (Exception e)
            {
                _failure = e;
                _running.Set();
            }
        }
    }
}
