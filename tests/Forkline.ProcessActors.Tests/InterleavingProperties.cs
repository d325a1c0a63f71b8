using Akka.TestKit.Xunit2;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Kernel.Tests.Pipeline;
using Forkline.ProcessActors.Metrics;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

/// <summary>
/// Ring-buffer records from different CPUs arrive in any order. Whatever the order, the same events of a
/// small tree (fork, exec after fork, exec chain, hooks from leader and thread, exits) must give the same
/// state and the same output, and leave no actor once everything exited and the grace period passed.
/// </summary>
public sealed class InterleavingProperties : TestKit
{
    private readonly ITestOutputHelper _output;
    private string? _inKernelOrder;

    public InterleavingProperties(ITestOutputHelper output) : base(output: output) => _output = output;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly ProcessKey Init = Key(1, 1_000);
    private static readonly ProcessKey Fork = Key(200, 2_000);
    private static readonly ProcessKey Bash = Key(200, 2_100);
    private static readonly ProcessKey Sh = Key(200, 2_200);
    private static readonly ProcessKey SleepFork = Key(300, 3_000);
    private static readonly ProcessKey Sleep = Key(300, 3_100);

    /// <summary>In the order the kernel produced them.</summary>
    private static readonly KernelEvent[] TreeEvents =
    [
        Exec(Init, ProcessKey.None, "/sbin/init", flags: ExecFlags.Procfs),
        Clone(Fork, Init),
        Exec(Bash, Init, "/bin/bash", replaced: Fork),
        Hook(Bash, 2_150),
        Exec(Sh, Init, "/bin/sh", replaced: Bash),
        Hook(Sh, 2_300, tid: 201),
        Clone(SleepFork, Sh),
        Hook(SleepFork, 3_050),
        Exec(Sleep, Sh, "/bin/sleep", replaced: SleepFork),
        Hook(Sleep, 3_200),
        Hook(Sleep, 3_300, tid: 301, hook: Setuid, credentials: User(0)),
        Hook(Sleep, 3_400, tid: 301, credentials: User(0)),
        Exit(Sleep, 4_000),
        Exit(Sh, 5_000, status: 1),
        Exit(Init, 6_000, status: 0, tid: 7),
    ];

    [Property(MaxTest = 20)]
    public Property Any_interleaving_of_a_trees_events_ends_in_the_same_state_and_output() =>
        Prop.ForAll(Arb.From(Gen.Shuffle(TreeEvents)), interleaving => Assert.Equal(InKernelOrder, Run(interleaving)));

    private string InKernelOrder
    {
        get
        {
            if (_inKernelOrder is null)
            {
                _inKernelOrder = Run(TreeEvents);
                _output.WriteLine($"output in kernel order:\n{_inKernelOrder}");
            }
            return _inKernelOrder;
        }
    }

    private string Run(KernelEvent[] events) => RunAsync(events).GetAwaiter().GetResult();

    private async Task<string> RunAsync(KernelEvent[] events)
    {
        var sink = new CollectingSink();
        using var meters = new MeterValues();
        var metrics = new ProcessActorMetrics(meters);
        var settings = new ProcessActorSettings
        {
            NodeName = "test-node",
            // Long enough that no parent goes before the children of this burst reach the router.
            ExitGracePeriod = TimeSpan.FromMilliseconds(400),
            EventCacheMaxAge = TimeSpan.FromSeconds(30),
            EventCacheRetryInterval = TimeSpan.FromMilliseconds(20),
            AncestorDepth = ProcessActorSettings.AncestorsUpToInit,
            BootClock = new BootClock(0),
        };
        await using var pipeline = ProcessPipeline.Start(Sys, settings, metrics, [sink]);
        foreach (var kernelEvent in events) pipeline.OnEvent(kernelEvent);
        pipeline.OnBatchEnd();
        await pipeline.FlushAsync(Patience);
        var settled = await pipeline.GetStatusAsync(Patience);

        var deadline = DateTime.UtcNow + Patience;
        ProcessPipelineStatus drained;
        while ((drained = await pipeline.GetStatusAsync(Patience)) is not { TrackedProcesses: 0, ReleasingProcesses: 0 } && DateTime.UtcNow < deadline)
            await Task.Delay(20);

        return string.Join('\n',
        [
            $"after flush: {settled}",
            $"after grace: {drained}, live gauge {meters.Value("forkline_processes_live")}, mismatches {meters.Value("forkline_tid_pid_mismatch_total", "exit")}",
            .. sink.Events.Select(Normalize).Order(StringComparer.Ordinal),
        ]);
    }

    private static string Normalize(EnrichedEvent enriched)
    {
        var process = enriched.Process;
        var ancestors = new List<string>();
        for (var node = enriched.Ancestors; node is not null; node = node.Next) ancestors.Add(node.Process.Binary);
        var common = $"{process.ExecId.Pid}@{process.ExecId.StartKtime} {process.Binary} parent {process.ParentExecId.Pid}@{process.ParentExecId.StartKtime} " +
                     $"({enriched.Parent?.Binary}) ancestors [{string.Join(' ', ancestors)}] flags {process.Flags} uid {process.Credentials.Uid}";
        return enriched switch
        {
            EnrichedExit exit => $"exit {common} status {exit.Process.Exit?.Status} tid {exit.Process.Tid}",
            EnrichedHook hook => $"hook {hook.Hook.Ktime} {common} thread {hook.Thread?.Tid} thread uid {hook.Thread?.Credentials.Uid}",
            _ => $"{enriched.Kind} {common}",
        };
    }
}
