using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

public sealed class LineageTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    private static readonly ProcessKey Init = Key(1, 10);
    private static readonly ProcessKey Bash = Key(100, 1_000);

    private static ExecId Id(ProcessKey key) => ExecId.For("test-node", key);

    [Fact]
    public async Task Exec_after_fork_names_the_forking_process_as_parent_and_releases_the_fork()
    {
        await using var pipeline = StartPipeline();
        var fork = Key(200, 2_000);
        var sleep = Key(200, 2_100);

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash"),
            Clone(fork, Bash),
            Exec(sleep, Bash, "/bin/sleep", replaced: fork));

        var exec = Sink.Of<EnrichedExec>().Single(e => e.Process.Binary == "/bin/sleep");
        Assert.Equal(Id(Bash), exec.Process.ParentExecId);
        Assert.Equal(Id(Bash), exec.Parent?.ExecId);
        await AwaitAssertAsync(async () =>
            Assert.Equal(2, (await pipeline.GetStatusAsync(Patience)).TrackedProcesses), Patience);
    }

    [Fact]
    public async Task Exec_without_fork_gets_a_new_exec_id_whose_parent_is_the_previous_image()
    {
        await using var pipeline = StartPipeline(TestSettings with { AncestorDepth = ProcessActorSettings.AncestorsUpToInit });
        var sh = Key(200, 2_100);
        var sleep = Key(200, 2_200);

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash"),
            Exec(sh, Bash, "/bin/sh"),
            Exec(sleep, Bash, "/bin/sleep", replaced: sh),
            Exit(sleep, 3_000));

        var exec = Sink.Of<EnrichedExec>().Single(e => e.Process.Binary == "/bin/sleep");
        Assert.Equal(Id(sleep), exec.Process.ExecId);
        Assert.Equal(Id(sh), exec.Process.ParentExecId);
        Assert.Equal("/bin/sh", exec.Parent?.Binary);
        Assert.Equal(Id(Bash), exec.Ancestors?.Process.ExecId);
        var exit = Sink.Single<EnrichedExit>();
        Assert.Equal(Id(sleep), exit.Process.ExecId);
        Assert.Equal(Id(sh), exit.Parent?.ExecId);
    }

    [Fact]
    public async Task Exec_with_an_unknown_replaced_start_uses_the_pids_current_image()
    {
        await using var pipeline = StartPipeline();
        var sh = Key(200, 2_100);

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash"),
            Exec(sh, Bash, "/bin/sh"),
            Exec(Key(200, 2_200), Bash, "/bin/sleep", replaced: Key(200, 0)));

        var exec = Sink.Of<EnrichedExec>().Single(e => e.Process.Binary == "/bin/sleep");
        Assert.Equal(Id(sh), exec.Process.ParentExecId);
    }

    [Fact]
    public async Task A_fork_that_never_execs_is_not_exported_unless_asked()
    {
        await using var pipeline = StartPipeline();
        var fork = Key(200, 2_000);

        await FeedAndFlush(pipeline, Exec(Bash, ProcessKey.None, "/bin/bash"), Clone(fork, Bash), Hook(fork, 2_050), Exit(fork, 2_100));

        Assert.Single(Sink.Events.OfType<EnrichedExec>());
        Assert.Empty(Sink.Of<EnrichedClone>());
        Assert.Empty(Sink.Of<EnrichedExit>());
        var hook = Sink.Single<EnrichedHook>();
        Assert.True(hook.Process.Flags.HasFlag(ProcessFlags.CloneOnly));
        Assert.Equal(Id(fork), hook.Process.ExecId);
    }

    [Fact]
    public async Task A_fork_that_never_execs_is_exported_with_clone_and_exit_when_asked()
    {
        await using var pipeline = StartPipeline(TestSettings with { EmitClones = true });
        var fork = Key(200, 2_000);

        await FeedAndFlush(pipeline, Exec(Bash, ProcessKey.None, "/bin/bash"), Clone(fork, Bash), Exit(fork, 2_100, status: 1));

        Assert.Equal(Id(fork), Sink.Single<EnrichedClone>().Process.ExecId);
        var exit = Sink.Single<EnrichedExit>();
        Assert.Equal(Id(fork), exit.Process.ExecId);
        Assert.True(exit.Process.Flags.HasFlag(ProcessFlags.CloneOnly));
        Assert.Equal(1, exit.Process.Exit?.Status);
    }

    [Fact]
    public async Task Ancestors_beyond_the_parent_are_attached_up_to_the_configured_depth()
    {
        await using var pipeline = StartPipeline(TestSettings with { AncestorDepth = 2 });
        var sshd = Key(50, 500);
        var sh = Key(200, 2_000);
        var sleep = Key(300, 3_000);

        await FeedAndFlush(pipeline,
            Exec(Init, ProcessKey.None, "/sbin/init"),
            Exec(sshd, Init, "/usr/sbin/sshd"),
            Exec(Bash, sshd, "/bin/bash"),
            Exec(sh, Bash, "/bin/sh"),
            Exec(sleep, sh, "/bin/sleep"));

        var exec = Sink.Of<EnrichedExec>().Single(e => e.Process.Binary == "/bin/sleep");
        Assert.Equal(Id(sh), exec.Parent?.ExecId);
        var ancestors = exec.Ancestors!;
        Assert.Equal(2, ancestors.Depth);
        Assert.Equal(Id(Bash), ancestors.Process.ExecId);
        Assert.Equal(Id(sshd), ancestors.Next?.Process.ExecId);
    }

    [Fact]
    public async Task An_ancestors_credential_change_reaches_descendants_within_the_ancestor_depth()
    {
        await using var pipeline = StartPipeline(TestSettings with { AncestorDepth = 1 });
        var sh = Key(200, 2_000);
        var sleep = Key(300, 3_000);

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash", credentials: User(0)),
            Exec(sh, Bash, "/bin/sh"),
            Exec(sleep, sh, "/bin/sleep"),
            Hook(Bash, 3_500, hook: Setuid, credentials: User(33)));
        await FeedAndFlush(pipeline, Hook(sleep, 4_000));

        var hook = Sink.Of<EnrichedHook>().Single(h => h.Process.Key == sleep);
        Assert.Equal(Id(Bash), hook.Ancestors?.Process.ExecId);
        Assert.Equal(User(33), hook.Ancestors?.Process.Credentials);
        // The exec was emitted before the change and keeps what it showed.
        Assert.Equal(User(0), Sink.Of<EnrichedExec>().Single(e => e.Process.Key == sleep).Ancestors?.Process.Credentials);
    }

    [Fact]
    public async Task Ancestors_are_left_out_unless_asked()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline,
            Exec(Init, ProcessKey.None, "/sbin/init"),
            Exec(Bash, Init, "/bin/bash"),
            Exec(Key(200, 2_000), Bash, "/bin/sh"));

        Assert.All(Sink.Of<EnrichedExec>(), exec => Assert.Null(exec.Ancestors));
        Assert.Equal(Id(Bash), Sink.Of<EnrichedExec>().Single(e => e.Process.Binary == "/bin/sh").Parent?.ExecId);
    }

    [Fact]
    public async Task Two_processes_with_the_same_pid_and_different_starts_never_share_state()
    {
        await using var pipeline = StartPipeline();
        var first = Key(200, 2_000);
        var second = Key(200, 9_000);

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash"),
            Exec(first, Bash, "/bin/first", credentials: User(1)),
            Hook(first, 2_500, hook: Setuid, credentials: User(0)),
            Exit(first, 3_000, status: 1),
            Exec(second, Bash, "/bin/second", credentials: User(2)),
            Hook(first, 3_001),
            Hook(second, 9_500),
            Exit(second, 10_000, status: 2));

        var hooks = Sink.Of<EnrichedHook>().Where(h => h.Hook.Hook == Openat).ToDictionary(h => h.Process.ExecId, h => h.Process);
        Assert.Equal(("/bin/first", User(0)), (hooks[Id(first)].Binary, hooks[Id(first)].Credentials));
        Assert.Equal(("/bin/second", User(2)), (hooks[Id(second)].Binary, hooks[Id(second)].Credentials));
        var exits = Sink.Of<EnrichedExit>().ToDictionary(e => e.Process.ExecId, e => e.Process.Exit!.Status);
        Assert.Equal(1, exits[Id(first)]);
        Assert.Equal(2, exits[Id(second)]);
        Assert.Equal(0, Value("forkline_exits_missing_total"));
    }

    [Fact]
    public async Task A_reused_pid_ends_the_old_process_whose_exit_was_lost_and_counts_it()
    {
        await using var pipeline = StartPipeline();
        var lost = Key(200, 2_000);

        var reuse = Key(200, 9_000);

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash"),
            Exec(lost, Bash, "/bin/lost"),
            Clone(reuse, Bash),
            Exec(Key(200, 9_100), Bash, "/bin/new", replaced: reuse));

        Assert.Equal(1, Value("forkline_exits_missing_total"));
        var concluded = Assert.Single(Sink.Of<EnrichedExit>(), e => e.Process.ExecId == Id(lost)).Process.Exit!;
        Assert.Equal((ExitConclusion.Lost, 0, 0), (concluded.Conclusion, concluded.Status, concluded.Signal));
        Assert.Equal(1, Value("forkline_exits_concluded_total", "lost"));
        // The old image and the fork end (no exit will come for them) and go after their grace.
        await AwaitAssertAsync(async () =>
            Assert.Equal(2, (await pipeline.GetStatusAsync(Patience)).TrackedProcesses), Patience);
    }
}
