using Akka.TestKit.Xunit2;
using Forkline.Contracts.Events;
using Forkline.Kernel.Tests.Pipeline;
using Forkline.ProcessActors.Metrics;
using Xunit.Abstractions;

namespace Forkline.ProcessActors.Tests;

/// <summary>An actor system per test, a pipeline in it, its own meters and a collecting sink.</summary>
public abstract class PipelineTestKit : TestKit
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    protected PipelineTestKit(ITestOutputHelper output) : base(output: output) => Metrics = new ProcessActorMetrics(Meters);

    internal CollectingSink Sink { get; } = new();

    /// <summary>What the pipeline's meter shows.</summary>
    protected MeterValues Meters { get; } = new();

    protected ProcessActorMetrics Metrics { get; }

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

    /// <summary>The series of the process actors' instrument <paramref name="name"/> with <paramref name="labels"/>, as /metrics shows it.</summary>
    protected long Value(string name, params string[] labels) => Meters.Value(name, labels);

    protected override void AfterAll()
    {
        base.AfterAll();
        Meters.Dispose();
    }
}
