using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

public sealed class ThreadSnapshotTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    private static readonly ProcessKey Server = Key(100, 1_000);

    [Fact]
    public async Task A_threads_credential_change_shows_on_that_threads_events_only()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline,
            Exec(Server, ProcessKey.None, "/usr/sbin/server", credentials: User(0)),
            Hook(Server, 1_100, tid: 101, hook: Setuid, credentials: User(33)),
            Hook(Server, 1_200, tid: 101, credentials: User(33)),
            Hook(Server, 1_300, credentials: User(0)),
            Hook(Server, 1_400, tid: 102, credentials: User(0)));

        var hooks = Sink.Of<EnrichedHook>();
        Assert.All(hooks, hook => Assert.Equal(User(0), hook.Process.Credentials));
        Assert.All(hooks.Where(h => h.Thread?.Tid == 101), hook => Assert.Equal(User(33), hook.Thread!.Credentials));
        Assert.Equal(User(0), hooks.Single(h => h.Thread?.Tid == 102).Thread!.Credentials);
        Assert.Null(hooks.Single(h => h.Hook.Ktime == 1_300).Thread);
    }

    [Fact]
    public async Task A_leaders_credential_change_makes_a_new_snapshot_and_leaves_the_one_a_writer_holds_unchanged()
    {
        await using var pipeline = StartPipeline();
        await FeedAndFlush(pipeline, Exec(Server, ProcessKey.None, "/usr/sbin/server", credentials: User(0)));
        var held = Sink.Single<EnrichedExec>().Process;

        await FeedAndFlush(pipeline,
            Hook(Server, 1_100, hook: Setuid, credentials: User(33)),
            Hook(Server, 1_200, credentials: User(33)),
            Hook(Server, 1_300, tid: 105, credentials: User(33)));

        Assert.Equal(User(0), held.Credentials);
        var hooks = Sink.Of<EnrichedHook>();
        Assert.All(hooks, hook => Assert.Equal(User(33), hook.Process.Credentials));
        Assert.All(hooks, hook => Assert.NotSame(held, hook.Process));
        Assert.Same(hooks[1].Process, hooks[2].Thread!.Leader);
    }

    [Fact]
    public async Task A_failed_or_entering_credential_call_changes_nothing()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline,
            Exec(Server, ProcessKey.None, "/usr/sbin/server", credentials: User(0)),
            Hook(Server, 1_100, hook: Setuid, credentials: User(33), result: -1),
            Hook(Server, 1_200, hook: Setuid, credentials: User(33), phase: HookPhase.Enter),
            Hook(Server, 1_300, credentials: User(0)));

        Assert.Equal(User(0), Sink.Of<EnrichedHook>().Single(h => h.Hook.Ktime == 1_300).Process.Credentials);
    }

    [Fact]
    public async Task Children_see_their_parents_changed_credentials()
    {
        await using var pipeline = StartPipeline();
        var worker = Key(200, 2_000);

        await FeedAndFlush(pipeline,
            Exec(Server, ProcessKey.None, "/usr/sbin/server", credentials: User(0)),
            Exec(worker, Server, "/usr/sbin/worker"),
            Hook(Server, 2_100, hook: Setuid, credentials: User(33)));
        await FeedAndFlush(pipeline, Hook(worker, 2_200));

        Assert.Equal(User(33), Sink.Of<EnrichedHook>().Single(h => h.Process.Key == worker).Parent?.Credentials);
    }

    [Fact]
    public async Task A_thread_snapshot_holds_only_the_leader_and_the_event()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Server, ProcessKey.None, "/usr/sbin/server"), Hook(Server, 1_100, tid: 101));

        var thread = Sink.Single<EnrichedHook>().Thread!;
        Assert.Same(Sink.Single<EnrichedHook>().Hook, thread.Source);
        Assert.Equal(2, typeof(ThreadSnapshot).GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic).Length);
    }
}
