using System.Collections.Concurrent;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

/// <summary>The periodic check that ends, with a concluded exit, what is gone after its exit record was lost.</summary>
public sealed class LivenessCheckTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    private static readonly ProcessKey Init = Key(1, 10);
    private static readonly ProcessKey Lost = Key(300, 3_000);
    private static readonly ProcessKey Exited = Key(301, 3_100);

    // What the probe reports gone: the host's /proc, as the test sets it.
    private readonly ConcurrentDictionary<ProcessKey, bool> _gone = new();

    private ProcessPipeline StartWithProbe() => StartPipeline(TestSettings with
    {
        LivenessCheckInterval = TimeSpan.FromMilliseconds(50),
        LivenessConfirmDelay = TimeSpan.FromMilliseconds(200),
        LivenessProbe = key => !_gone.ContainsKey(key),
    });

    [Fact]
    public async Task A_process_gone_without_its_exit_is_ended_with_an_exit_concluded_as_lost_and_no_status()
    {
        await using var pipeline = StartWithProbe();
        await FeedAndFlush(pipeline, Exec(Init, ProcessKey.None, "/sbin/init"), Exec(Lost, Init, "/bin/sleep"));
        var before = DateTime.UtcNow;

        _gone[Lost] = true;

        await AwaitAssertAsync(() => Assert.Single(Sink.Of<EnrichedExit>()), Patience);
        var exit = Assert.Single(Sink.Of<EnrichedExit>());
        Assert.Equal(ExecId.For("test-node", Lost), exit.Process.ExecId);
        var concluded = exit.Process.Exit!;
        Assert.Equal((ExitConclusion.Lost, 0, 0), (concluded.Conclusion, concluded.Status, concluded.Signal));
        Assert.True(concluded.EndedAfter <= concluded.Time, $"ended after {concluded.EndedAfter:O}, found gone {concluded.Time:O}");
        Assert.InRange(concluded.Time, before, DateTime.UtcNow);
        Assert.Equal(1, Value("forkline_exits_concluded_total", "lost"));
    }

    [Fact]
    public async Task An_exit_that_arrives_while_the_gone_process_waits_for_confirmation_is_kept_as_the_kernel_reported_it()
    {
        // Long enough that a stalled test host still feeds the exit before the confirmation.
        var confirmDelay = TimeSpan.FromSeconds(5);
        await using var pipeline = StartPipeline(TestSettings with
        {
            LivenessCheckInterval = TimeSpan.FromMilliseconds(50),
            LivenessConfirmDelay = confirmDelay,
            LivenessProbe = key => !_gone.ContainsKey(key),
        });
        await FeedAndFlush(pipeline, Exec(Init, ProcessKey.None, "/sbin/init"), Exec(Exited, Init, "/bin/true"));
        _gone[Exited] = true;
        // Found gone by a check, then its real exit comes out of the ring before the confirmation.
        await Task.Delay(300);
        await FeedAndFlush(pipeline, Exit(Exited, 3_500, status: 7));
        await Task.Delay(confirmDelay + TimeSpan.FromMilliseconds(500));

        var exit = Assert.Single(Sink.Of<EnrichedExit>()).Process.Exit!;
        Assert.Equal((ExitConclusion.None, 7), (exit.Conclusion, exit.Status));
        Assert.Equal(0, Value("forkline_exits_concluded_total", "lost"));
    }
}
