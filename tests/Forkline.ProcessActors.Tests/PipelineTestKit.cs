using Akka.TestKit.Xunit2;
using Forkline.Contracts.Events;
using Forkline.ProcessActors.Metrics;
using Prometheus;
using Xunit.Abstractions;

namespace Forkline.ProcessActors.Tests;

/// <summary>An actor system per test, a pipeline in it, its own metrics registry and a collecting sink.</summary>
public abstract class PipelineTestKit(ITestOutputHelper output) : TestKit(output: output)
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    internal CollectingSink Sink { get; } = new();

    protected ForklineMetrics Metrics { get; } = new(Prometheus.Metrics.NewCustomRegistry());

    /// <summary>Short grace and a long cache age: tests see releases quickly and no accidental give-ups.</summary>
    protected static ProcessActorSettings TestSettings => new()
    {
        NodeName = "test-node",
        ExitGracePeriod = TimeSpan.FromMilliseconds(50),
        EventCacheMaxAge = TimeSpan.FromSeconds(30),
        EventCacheRetryInterval = TimeSpan.FromMilliseconds(20),
        BootClock = new BootClock(0),
    };

    protected ProcessPipeline StartPipeline(ProcessActorSettings? settings = null) =>
        ProcessPipeline.Start(Sys, settings ?? TestSettings, Metrics, [Sink]);

    protected static async Task FeedAndFlush(ProcessPipeline pipeline, params KernelEvent[] events)
    {
        foreach (var kernelEvent in events) pipeline.OnEvent(kernelEvent);
        pipeline.OnBatchEnd();
        await pipeline.FlushAsync(Patience);
    }

    protected static async Task WaitUntilNoProcessIsTracked(ProcessPipeline pipeline)
    {
        var deadline = DateTime.UtcNow + Patience;
        ProcessPipelineStatus status;
        do
        {
            status = await pipeline.GetStatusAsync(Patience);
            if (status is { TrackedProcesses: 0, ReleasingProcesses: 0 }) return;
            await Task.Delay(20);
        } while (DateTime.UtcNow < deadline);
        Assert.Fail($"processes are still tracked after {Patience}: {status}");
    }

    protected static double Value(Counter counter, params string[] labels) =>
        labels.Length == 0 ? counter.Value : counter.WithLabels(labels).Value;
}
