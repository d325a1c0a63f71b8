using System.Diagnostics;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;

namespace Forkline.Benchmarks;

/// <summary>
/// The figures in seconds rather than BenchmarkDotNet's minutes: hook events/s, exec+exit pairs/s,
/// bytes allocated per hook event, managed heap per tracked process with 100,000 live processes.
/// </summary>
public sealed class ProcessActorsFigures : IQuickFigures
{
    private const int HookEvents = 2_000_000;
    private const int DistinctHookEvents = 200_000;
    private const int Pairs = 100_000;
    private const int LiveProcesses = 100_000;

    public string Name => "ProcessActors";

    public async Task RunAsync(TextWriter output)
    {
        output.WriteLine($"process actors on {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");
        await HookThroughput(output);
        await ExecExitThroughput(output);
        await MemoryPerProcess(output);
        SnapshotSizes(output);
    }

    private static async Task HookThroughput(TextWriter output)
    {
        await using var workload = new ProcessActorsWorkload(exitGracePeriod: TimeSpan.FromSeconds(5));
        var hooks = workload.Hooks(workload.StartProcesses(ProcessActorsWorkload.ProcessCount), DistinctHookEvents);
        workload.Feed(hooks); // warm-up: JIT, mailbox segments, thread pool

        var (elapsed, allocated) = Measure(() =>
        {
            for (var round = 0; round < HookEvents / DistinctHookEvents; round++) workload.Feed(hooks);
        });
        output.WriteLine($"hook events: {HookEvents / elapsed.TotalSeconds,12:N0} /s   {allocated / (double)HookEvents,6:N1} B allocated per hook " +
                         $"({HookEvents:N0} events over {ProcessActorsWorkload.ProcessCount:N0} processes, half from non-leader threads)");
    }

    private static async Task ExecExitThroughput(TextWriter output)
    {
        await using var workload = new ProcessActorsWorkload(exitGracePeriod: TimeSpan.FromMilliseconds(100));
        workload.Feed(workload.ExecExitPairs(Pairs / 10));
        var pairs = workload.ExecExitPairs(Pairs);

        var (elapsed, allocated) = Measure(() => workload.Feed(pairs));
        output.WriteLine($"exec+exit pairs: {Pairs / elapsed.TotalSeconds,8:N0} /s   {allocated / (double)Pairs,6:N0} B allocated per pair " +
                         $"({Pairs:N0} processes, each a new actor, released 100 ms after its exit)");
    }

    private static async Task MemoryPerProcess(TextWriter output)
    {
        await using var workload = new ProcessActorsWorkload(exitGracePeriod: TimeSpan.FromSeconds(5));
        workload.StartProcesses(1_000);
        var before = SettledHeap();
        workload.StartProcesses(LiveProcesses);
        var after = SettledHeap();
        var status = await workload.Pipeline.GetStatusAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"memory: {(after - before) / (double)LiveProcesses,8:N0} B managed heap per live process " +
                         $"({LiveProcesses:N0} processes, {status.TrackedProcesses:N0} tracked; includes binary/args/cwd strings)");
    }

    /// <summary>What a hook event allocates for its snapshot and for its envelope, measured on one thread.</summary>
    private static void SnapshotSizes(TextWriter output)
    {
        var leader = new ProcessSnapshot(default, default, 1, "/bin/x", [], "/", default, default, default, 0, 0, 1, DateTime.UnixEpoch, ProcessFlags.Exec);
        var hook = new HookEvent(1, 2, 3, 1, new HookDescriptor(1, "x", HookKind.Syscall, false), HookPhase.Exit, 0, 0, default, default, default, default);
        var threadBytes = AllocatedBy(() => new ThreadSnapshot(leader, hook));
        var envelopeBytes = AllocatedBy(() => new EnrichedHook("n", DateTime.UnixEpoch, 3, leader, null, null, hook, null));
        output.WriteLine($"per hook event: snapshot {threadBytes} B from a non-leader thread (ThreadSnapshot), 0 B from the leader; " +
                         $"EnrichedHook envelope {envelopeBytes} B");
    }

    private static long AllocatedBy(Func<object> create)
    {
        create();
        var before = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(create());
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static (TimeSpan Elapsed, long Allocated) Measure(Action run)
    {
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        run();
        clock.Stop();
        return (clock.Elapsed, GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore);
    }

    private static long SettledHeap()
    {
        // Let the actors finish their start-up messages, then collect until the heap stops shrinking.
        Thread.Sleep(500);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
