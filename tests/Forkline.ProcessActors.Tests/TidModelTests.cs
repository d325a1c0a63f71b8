using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

/// <summary>DESIGN.md's TID table, row by row, mismatches included.</summary>
public sealed class TidModelTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    private static readonly ProcessKey Shell = Key(100, 1_000);

    [Fact]
    public async Task Clone_with_tid_equal_pid_is_a_clone_only_process_running_its_parents_image()
    {
        await using var pipeline = StartPipeline(TestSettings with { EmitClones = true });
        var fork = Key(200, 2_000);

        await FeedAndFlush(pipeline, Exec(Shell, ProcessKey.None, "/bin/bash"), Clone(fork, Shell, credentials: User(0)));

        var clone = Sink.Single<EnrichedClone>();
        Assert.Equal(ExecId.For("test-node", fork), clone.Process.ExecId);
        Assert.Equal("/bin/bash", clone.Process.Binary);
        Assert.Equal(User(0), clone.Process.Credentials);
        Assert.True(clone.Process.Flags.HasFlag(ProcessFlags.CloneOnly));
        Assert.Equal(ExecId.For("test-node", Shell), clone.Parent?.ExecId);
        Assert.Equal(0, Value("forkline_tid_pid_mismatch_total", "clone"));
    }

    [Fact]
    public async Task Clone_with_tid_not_pid_is_counted_and_the_process_keeps_the_pid_as_tid()
    {
        await using var pipeline = StartPipeline(TestSettings with { EmitClones = true });
        var fork = Key(200, 2_000);

        await FeedAndFlush(pipeline, Exec(Shell, ProcessKey.None, "/bin/bash"), Clone(fork, Shell, tid: 201));

        var clone = Sink.Single<EnrichedClone>();
        Assert.Equal(200, clone.Process.Pid);
        Assert.Equal(200, clone.Process.Tid);
        Assert.Equal(1, Value("forkline_tid_pid_mismatch_total", "clone"));
    }

    [Fact]
    public async Task Exec_with_tid_equal_pid_gets_a_new_exec_id_and_no_mismatch()
    {
        await using var pipeline = StartPipeline();
        var sleep = Key(300, 3_000);

        await FeedAndFlush(pipeline, Exec(Shell, ProcessKey.None, "/bin/bash"), Exec(sleep, Shell, "/bin/sleep"));

        var exec = Sink.Of<EnrichedExec>().Single(e => e.Process.Binary == "/bin/sleep");
        Assert.Equal(ExecId.For("test-node", sleep), exec.Process.ExecId);
        Assert.Equal(ExecId.For("test-node", Shell), exec.Process.ParentExecId);
        Assert.Equal(0, Value("forkline_tid_pid_mismatch_total", "exec"));
    }

    [Fact]
    public async Task Exec_with_tid_not_pid_is_counted_and_the_process_keeps_the_pid_as_tid()
    {
        await using var pipeline = StartPipeline();
        var sleep = Key(300, 3_000);

        await FeedAndFlush(pipeline, Exec(Shell, ProcessKey.None, "/bin/bash"), Exec(sleep, Shell, "/bin/sleep", tid: 302));

        var exec = Sink.Of<EnrichedExec>().Single(e => e.Process.Binary == "/bin/sleep");
        Assert.Equal(300, exec.Process.Tid);
        Assert.Equal(sleep, exec.Process.Key);
        Assert.Equal(1, Value("forkline_tid_pid_mismatch_total", "exec"));
    }

    [Fact]
    public async Task Exit_with_tid_equal_pid_pairs_with_its_exec()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Shell, ProcessKey.None, "/bin/bash"), Exit(Shell, 5_000, status: 3));

        var exec = Sink.Single<EnrichedExec>();
        var exit = Sink.Single<EnrichedExit>();
        Assert.Equal((exec.Process.Pid, exec.Process.Tid), (exit.Process.Pid, exit.Process.Tid));
        Assert.Equal(exec.Process.ExecId, exit.Process.ExecId);
        Assert.Equal(3, exit.Process.Exit?.Status);
        Assert.Equal(0, Value("forkline_tid_pid_mismatch_total", "exit"));
    }

    [Fact]
    public async Task Exit_of_a_group_whose_leader_exited_first_is_counted_and_reports_tid_equal_pid()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Shell, ProcessKey.None, "/bin/bash"), Exit(Shell, 5_000, tid: 104));

        var exec = Sink.Single<EnrichedExec>();
        var exit = Sink.Single<EnrichedExit>();
        Assert.Equal((exec.Process.Pid, exec.Process.Tid), (exit.Process.Pid, exit.Process.Tid));
        Assert.Equal(100, exit.Process.Tid);
        Assert.Equal(104, exit.Process.Exit?.LastTid);
        Assert.Equal(1, Value("forkline_tid_pid_mismatch_total", "exit"));
    }

    [Fact]
    public async Task Hook_from_the_leader_uses_the_leaders_snapshot_as_is()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Shell, ProcessKey.None, "/bin/bash"), Hook(Shell, 1_500));

        var exec = Sink.Single<EnrichedExec>();
        var hook = Sink.Single<EnrichedHook>();
        Assert.Null(hook.Thread);
        Assert.Same(exec.Process, hook.Process);
    }

    [Fact]
    public async Task Hook_from_another_thread_gets_a_thread_snapshot_that_shares_the_leaders()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Shell, ProcessKey.None, "/bin/bash"), Hook(Shell, 1_500, tid: 107, credentials: User(33)));

        var exec = Sink.Single<EnrichedExec>();
        var hook = Sink.Single<EnrichedHook>();
        var thread = Assert.IsType<ThreadSnapshot>(hook.Thread);
        Assert.Same(exec.Process, thread.Leader);
        Assert.Same(exec.Process, hook.Process);
        Assert.Equal(107, thread.Tid);
        Assert.Equal(User(33), thread.Credentials);
        Assert.Equal(0, Value("forkline_tid_pid_mismatch_total", "exec"));
    }

    [Fact]
    public async Task Every_mismatch_is_counted_but_warned_about_once_per_interval()
    {
        await using var pipeline = StartPipeline(TestSettings with { MismatchWarningInterval = TimeSpan.FromHours(1) });

        await EventFilter.Warning(contains: "with tid").ExpectAsync(1, () => FeedAndFlush(pipeline,
            Exec(Key(100, 1_000), ProcessKey.None, "/bin/a", tid: 101),
            Exec(Key(200, 2_000), ProcessKey.None, "/bin/b", tid: 201),
            Exec(Key(300, 3_000), ProcessKey.None, "/bin/c", tid: 301)));

        Assert.Equal(3, Value("forkline_tid_pid_mismatch_total", "exec"));
    }

    [Fact]
    public async Task Mismatch_warning_names_pid_tid_binary_and_both_exec_ids()
    {
        await using var pipeline = StartPipeline(TestSettings with { MismatchWarningInterval = TimeSpan.Zero });
        var sleep = Key(300, 3_000);
        var expected = $"exec with tid 302 != pid 300 (binary /bin/sleep, exec_id {ExecId.For("test-node", sleep)}, " +
                       $"parent exec_id {ExecId.For("test-node", Shell)})";

        await EventFilter.Warning(contains: expected).ExpectAsync(1, () => FeedAndFlush(pipeline,
            Exec(Shell, ProcessKey.None, "/bin/bash"), Exec(sleep, Shell, "/bin/sleep", tid: 302)));
    }

    [Fact]
    public async Task Without_a_warning_interval_every_mismatch_is_warned_about()
    {
        await using var pipeline = StartPipeline(TestSettings with { MismatchWarningInterval = TimeSpan.Zero });

        await EventFilter.Warning(contains: "with tid").ExpectAsync(2, () => FeedAndFlush(pipeline,
            Exec(Shell, ProcessKey.None, "/bin/bash"),
            Exit(Shell, 5_000, tid: 104),
            Exec(Key(200, 6_000), ProcessKey.None, "/bin/b", tid: 201)));
    }
}
