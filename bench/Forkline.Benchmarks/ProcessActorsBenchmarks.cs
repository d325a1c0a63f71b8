using BenchmarkDotNet.Attributes;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Benchmarks;

/// <summary>
/// Router + process actors on synthetic events. Allocation figures are per event and include everything
/// the pipeline allocates on all threads (mailbox slots, enriched event, thread snapshot), not the input event.
/// In process: the measured code is an actor system on its own threads, which BenchmarkDotNet's generated
/// host project would only rebuild around.
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(2)]
[IterationCount(10)]
public class ProcessActorsBenchmarks
{
    private const int HookEventsPerInvoke = 200_000;
    private const int PairsPerInvoke = 20_000;

    private ProcessActorsWorkload _workload = null!;
    private KernelEvent[] _hooks = [];
    private KernelEvent[] _pairs = [];

    [GlobalSetup]
    public void Setup()
    {
        _workload = new ProcessActorsWorkload(exitGracePeriod: TimeSpan.FromMilliseconds(100));
        ProcessKey[] processes = _workload.StartProcesses(ProcessActorsWorkload.ProcessCount);
        _hooks = _workload.Hooks(processes, HookEventsPerInvoke);
    }

    [IterationSetup(Target = nameof(ExecExitPairs))]
    public void GeneratePairs() => _pairs = _workload.ExecExitPairs(PairsPerInvoke);

    [GlobalCleanup]
    public void Cleanup() => _workload.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Half from leaders (leader snapshot as is), half from other threads (a thread snapshot each).</summary>
    [Benchmark(OperationsPerInvoke = HookEventsPerInvoke)]
    public void HookEvents() => _workload.Feed(_hooks);

    /// <summary>One operation = the exec and the exit of one new process (two enriched events).</summary>
    [Benchmark(OperationsPerInvoke = PairsPerInvoke)]
    public void ExecExitPairs() => _workload.Feed(_pairs);
}
