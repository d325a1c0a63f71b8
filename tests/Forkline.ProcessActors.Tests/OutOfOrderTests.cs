using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

public sealed class OutOfOrderTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    private static readonly ProcessKey Bash = Key(100, 1_000);
    private static readonly ProcessKey Sleep = Key(200, 2_000);

    private static ExecId Id(ProcessKey key) => ExecId.For("test-node", key);

    [Fact]
    public async Task An_exit_before_its_exec_waits_and_follows_the_exec()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Bash, ProcessKey.None, "/bin/bash"), Exit(Sleep, 2_500), Exec(Sleep, Bash, "/bin/sleep"));

        var events = Sink.Events.Where(e => e.Process.Key == Sleep).ToList();
        Assert.Equal([EnrichedKind.Exec, EnrichedKind.Exit], events.Select(e => e.Kind));
        Assert.Equal(Id(Bash), events[1].Parent?.ExecId);
        Assert.Equal(1, Value("forkline_event_cache_resolved_total"));
    }

    [Fact]
    public async Task A_child_before_its_parent_waits_for_the_parent()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Sleep, Bash, "/bin/sleep"), Exec(Bash, ProcessKey.None, "/bin/bash"));

        var exec = Sink.Of<EnrichedExec>().Single(e => e.Process.Key == Sleep);
        Assert.Equal("/bin/bash", exec.Parent?.Binary);
        Assert.False(exec.Process.Flags.HasFlag(ProcessFlags.Incomplete));
        Assert.Equal(1, Value("forkline_event_cache_resolved_total"));
    }

    [Fact]
    public async Task Hooks_before_their_exec_wait_and_keep_their_order()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash"),
            Hook(Sleep, 2_100), Hook(Sleep, 2_200, tid: 201), Hook(Sleep, 2_300),
            Exec(Sleep, Bash, "/bin/sleep"));

        var events = Sink.Events.Where(e => e.Process.Key == Sleep).ToList();
        Assert.Equal([EnrichedKind.Exec, EnrichedKind.Hook, EnrichedKind.Hook, EnrichedKind.Hook], events.Select(e => e.Kind));
        Assert.Equal([2_100UL, 2_200UL, 2_300UL], events.OfType<EnrichedHook>().Select(h => h.Hook.Ktime));
        Assert.Equal(3, Value("forkline_event_cache_resolved_total"));
    }

    [Fact]
    public async Task A_hook_that_names_only_its_pid_waits_for_the_pids_first_image()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline,
            Hook(Key(200, 0), 2_100),
            Exec(Bash, ProcessKey.None, "/bin/bash"),
            Exec(Sleep, Bash, "/bin/sleep"));

        Assert.Equal(Id(Sleep), Sink.Single<EnrichedHook>().Process.ExecId);
    }

    [Fact]
    public async Task An_event_that_never_finds_its_process_is_emitted_incomplete_and_counted()
    {
        await using var pipeline = StartPipeline(TestSettings with { EventCacheMaxAge = TimeSpan.FromMilliseconds(50) });

        pipeline.OnEvent(Hook(Sleep, 2_100, tid: 201));
        pipeline.OnEvent(Exit(Sleep, 2_500, status: 9));
        pipeline.OnBatchEnd();

        await AwaitAssertAsync(() => Assert.Equal(2, Value("forkline_event_cache_dropped_total", "age")), Patience);
        await pipeline.FlushAsync(Patience);
        var hook = Sink.Single<EnrichedHook>();
        Assert.True(hook.Process.Flags.HasFlag(ProcessFlags.Incomplete));
        Assert.True(hook.Incomplete);
        Assert.Equal(Id(Sleep), hook.Process.ExecId);
        Assert.Equal(201, hook.Thread?.Tid);
        var exit = Sink.Single<EnrichedExit>();
        Assert.True(exit.Incomplete);
        Assert.Equal(9, exit.Process.Exit?.Status);
        Assert.Equal(0, Value("forkline_event_cache_resolved_total"));
        // What was never seen is flagged unknown, so no writer takes its zeros for root's.
        const ProcessFlags nothingSeen =
            ProcessFlags.AuidUnknown | ProcessFlags.CredentialsUnknown | ProcessFlags.CapabilitiesUnknown | ProcessFlags.NamespacesUnknown;
        Assert.Equal(ProcessFlags.AuidUnknown, hook.Process.Flags & nothingSeen);
        Assert.Equal(nothingSeen, exit.Process.Flags & nothingSeen);
    }

    [Fact]
    public async Task A_fork_whose_parent_never_arrives_has_its_own_ids_and_unknown_capabilities_and_namespaces()
    {
        await using var pipeline = StartPipeline(TestSettings with { EventCacheMaxAge = TimeSpan.FromMilliseconds(50), EmitClones = true });

        pipeline.OnEvent(Clone(Sleep, Bash));
        pipeline.OnBatchEnd();

        await AwaitAssertAsync(() => Assert.Equal(1, Value("forkline_event_cache_dropped_total", "age")), Patience);
        await pipeline.FlushAsync(Patience);
        var clone = Sink.Single<EnrichedClone>().Process;
        Assert.Equal(ProcessFlags.CapabilitiesUnknown | ProcessFlags.NamespacesUnknown,
            clone.Flags & (ProcessFlags.AuidUnknown | ProcessFlags.CredentialsUnknown | ProcessFlags.CapabilitiesUnknown | ProcessFlags.NamespacesUnknown));
    }

    [Fact]
    public async Task An_exec_whose_parent_never_arrives_is_tracked_without_parent_and_flagged_incomplete()
    {
        await using var pipeline = StartPipeline(TestSettings with { EventCacheMaxAge = TimeSpan.FromMilliseconds(50) });

        pipeline.OnEvent(Exec(Sleep, Bash, "/bin/sleep"));
        pipeline.OnEvent(Hook(Sleep, 2_100));
        pipeline.OnBatchEnd();

        await AwaitAssertAsync(() => Assert.Equal(1, Value("forkline_event_cache_dropped_total", "age")), Patience);
        await pipeline.FlushAsync(Patience);
        var exec = Sink.Single<EnrichedExec>();
        Assert.Null(exec.Parent);
        Assert.Equal(Id(Bash), exec.Process.ParentExecId);
        Assert.True(exec.Process.Flags.HasFlag(ProcessFlags.Incomplete));
        // The hook waited for the exec, not for the parent: it is resolved once the exec gave up.
        Assert.Equal(Id(Sleep), Sink.Single<EnrichedHook>().Process.ExecId);
        Assert.Equal(1, Value("forkline_event_cache_resolved_total"));
    }

    [Fact]
    public async Task A_full_cache_lets_its_oldest_event_give_up()
    {
        await using var pipeline = StartPipeline(TestSettings with { EventCacheCapacity = 2 });

        await FeedAndFlush(pipeline, Hook(Key(201, 1), 1), Hook(Key(202, 2), 2), Hook(Key(203, 3), 3));

        Assert.Equal(1, Value("forkline_event_cache_dropped_total", "capacity"));
        Assert.Equal(Key(201, 1), Sink.Single<EnrichedHook>().Process.Key);
        Assert.Equal(2, (await pipeline.GetStatusAsync(Patience)).WaitingEvents);
        Assert.Equal(2, Value("forkline_event_cache_events"));
    }

    [Fact]
    public async Task Stopping_emits_what_still_waits_flagged_incomplete()
    {
        var pipeline = StartPipeline();
        pipeline.OnEvent(Hook(Sleep, 2_100));

        await pipeline.StopAsync(Patience);

        Assert.True(Sink.Single<EnrichedHook>().Incomplete);
        Assert.Equal(1, Value("forkline_event_cache_dropped_total", "shutdown"));
        Assert.Throws<InvalidOperationException>(() => pipeline.OnEvent(Hook(Sleep, 2_200)));
    }

    [Fact]
    public async Task A_duplicate_exec_is_counted_and_not_emitted_twice()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash", flags: ExecFlags.Procfs),
            Exec(Bash, ProcessKey.None, "/bin/bash"));

        Assert.True(Sink.Single<EnrichedExec>().Process.Flags.HasFlag(ProcessFlags.Procfs));
        Assert.Equal(1, Value("forkline_events_discarded_total", "duplicate"));
    }
}
