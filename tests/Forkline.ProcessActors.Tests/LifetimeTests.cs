using Forkline.Contracts.Identity;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

public sealed class LifetimeTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    private static readonly ProcessKey Bash = Key(100, 1_000);
    private static readonly ProcessKey Sleep = Key(200, 2_000);

    [Fact]
    public async Task An_exited_process_is_released_after_the_grace_period()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Bash, ProcessKey.None, "/bin/bash"), Exit(Bash, 5_000));

        await WaitUntilNoProcessIsTracked(pipeline);
        Assert.Equal(0, Value("forkline_processes_live"));
    }

    [Fact]
    public async Task A_running_process_is_kept()
    {
        await using var pipeline = StartPipeline();

        await FeedAndFlush(pipeline, Exec(Bash, ProcessKey.None, "/bin/bash"), Exec(Sleep, Bash, "/bin/sleep"), Exit(Sleep, 3_000));

        // The exited child goes; the running parent that it named stays.
        await AwaitAssertAsync(async () => Assert.Equal(1, (await pipeline.GetStatusAsync(Patience)).TrackedProcesses), Patience);
        await Task.Delay(TestSettings.ExitGracePeriod * 4);
        Assert.Equal(1, (await pipeline.GetStatusAsync(Patience)).TrackedProcesses);
        Assert.Equal(1, Value("forkline_processes_live"));
    }

    [Fact]
    public async Task An_exited_parent_stays_while_a_child_lives_and_goes_after_the_child()
    {
        await using var pipeline = StartPipeline(TestSettings with { ExitGracePeriod = TimeSpan.FromMilliseconds(20) });

        await FeedAndFlush(pipeline, Exec(Bash, ProcessKey.None, "/bin/bash"), Exec(Sleep, Bash, "/bin/sleep"), Exit(Bash, 3_000));
        await Task.Delay(TimeSpan.FromMilliseconds(200));

        Assert.Equal(2, (await pipeline.GetStatusAsync(Patience)).TrackedProcesses);
        // Late events of the child still find the exited parent.
        await FeedAndFlush(pipeline, Hook(Sleep, 3_500));
        Assert.Equal("/bin/bash", Sink.Single<Forkline.Contracts.Snapshots.EnrichedHook>().Parent?.Binary);

        await FeedAndFlush(pipeline, Exit(Sleep, 4_000));
        await WaitUntilNoProcessIsTracked(pipeline);
    }

    [Fact]
    public async Task An_exec_chain_goes_once_its_last_image_exits()
    {
        await using var pipeline = StartPipeline();
        var sh = Key(200, 2_100);
        var sleep = Key(200, 2_200);

        await FeedAndFlush(pipeline,
            Exec(Bash, ProcessKey.None, "/bin/bash"),
            Clone(Sleep, Bash),
            Exec(sh, Bash, "/bin/sh", replaced: Sleep),
            Exec(sleep, Bash, "/bin/sleep", replaced: sh));
        // The fork goes after its grace; the replaced sh stays while sleep, its successor, runs.
        await AwaitAssertAsync(async () => Assert.Equal(3, (await pipeline.GetStatusAsync(Patience)).TrackedProcesses), Patience);
        await Task.Delay(TestSettings.ExitGracePeriod * 4);
        Assert.Equal(3, (await pipeline.GetStatusAsync(Patience)).TrackedProcesses);

        await FeedAndFlush(pipeline, Exit(sleep, 3_000), Exit(Bash, 3_100));
        await WaitUntilNoProcessIsTracked(pipeline);
    }

    [Fact]
    public async Task A_late_fork_of_a_parent_that_asked_to_go_keeps_the_parent()
    {
        await using var pipeline = StartPipeline(TestSettings with { ExitGracePeriod = TimeSpan.Zero });

        // With no grace the parent asks to go at once; the fork announced meanwhile must keep it.
        await FeedAndFlush(pipeline, Exec(Bash, ProcessKey.None, "/bin/bash"), Exit(Bash, 3_000), Clone(Sleep, Bash));

        await FeedAndFlush(pipeline, Hook(Sleep, 3_100));
        Assert.Equal("/bin/bash", Sink.Single<Forkline.Contracts.Snapshots.EnrichedHook>().Parent?.Binary);
        await FeedAndFlush(pipeline, Exit(Sleep, 4_000));
        await WaitUntilNoProcessIsTracked(pipeline);
    }
}
