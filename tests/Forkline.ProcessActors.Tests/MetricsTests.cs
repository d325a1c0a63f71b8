using Forkline.Contracts.Identity;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

public sealed class MetricsTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    [Fact]
    public async Task Events_are_counted_by_kind()
    {
        await using var pipeline = StartPipeline();
        var bash = Key(100, 1_000);

        await FeedAndFlush(pipeline,
            Exec(bash, ProcessKey.None, "/bin/bash"), Clone(Key(200, 2_000), bash),
            Hook(bash, 1_100), Hook(bash, 1_200, tid: 101), Exit(bash, 3_000));

        Assert.Equal((1, 1, 2, 1), (Value("forkline_events_total", "exec"), Value("forkline_events_total", "clone"),
            Value("forkline_events_total", "hook"), Value("forkline_events_total", "exit")));
        Assert.Equal(2, Value("forkline_processes_live"));
        Assert.Equal(1, Value("forkline_events_published_total", "exec"));
    }

    [Fact]
    public async Task Every_series_the_actors_know_of_is_shown_at_zero_before_anything_is_counted()
    {
        await using var pipeline = StartPipeline();

        // Dashboards see these series from the start (MetricNames.txt), not once the first of each is counted.
        Assert.Equal(new[] { "clone", "exec", "exit", "hook" }, Meters.Series("forkline_events_total"));
        Assert.Equal(new[] { "clone", "exec", "exit" }, Meters.Series("forkline_tid_pid_mismatch_total"));
        Assert.Equal(new[] { "age", "capacity", "shutdown" }, Meters.Series("forkline_event_cache_dropped_total"));
        Assert.Equal(new[] { "clones_off", "duplicate", "superseded" }, Meters.Series("forkline_events_discarded_total"));
        Assert.Equal(new[] { "lost" }, Meters.Series("forkline_exits_concluded_total"));
        Assert.Equal(new[] { nameof(CollectingSink) }, Meters.Series("forkline_sink_failures_total"));
        Assert.Equal(new[] { "clone", "exec", "exit", "hook" }, Meters.Series("forkline_events_published_total"));
        foreach (var unlabelled in new[] { "forkline_event_cache_resolved_total", "forkline_event_cache_events", "forkline_exits_missing_total", "forkline_processes_live" })
            Assert.Equal(new[] { "" }, Meters.Series(unlabelled));
        Assert.Equal(0, Value("forkline_events_total", "exec"));
    }
}
