using Akka.Actor;
using Forkline.Collector.Hooks;
using Forkline.Collector.Procfs;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.Kernel.Tests.Pipeline;
using Xunit.Abstractions;

namespace Forkline.Kernel.Tests;

/// <summary>An exit record lost between the ring and the process actors, on the real kernel: the periodic /proc check ends the process.</summary>
[Collection(KernelCollection.Name)]
public sealed class SwallowedExitTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Node = "swallowed-exit-test";
    private readonly ActorSystem _system = ActorSystem.Create("swallowed-exit", "akka.loglevel = WARNING");

    [KernelFact]
    public async Task A_process_whose_exit_record_was_lost_is_ended_by_the_liveness_check_with_an_exit_concluded_as_lost()
    {
        var sleeperPid = 0;
        await using var pipeline = await KernelPipeline.StartAsync(_system, Node, output.WriteLine, HookPolicy.CredentialsOnly,
            tune: settings => settings with
            {
                LivenessProbe = new ProcfsLiveness().StillRuns,
                LivenessCheckInterval = TimeSpan.FromMilliseconds(200),
                LivenessConfirmDelay = TimeSpan.FromMilliseconds(500),
            },
            lose: kernelEvent => kernelEvent is ExitEvent exit && exit.Pid == Volatile.Read(ref sleeperPid));
        using var sleeper = Workloads.Start("/bin/sleep", "3003");
        Volatile.Write(ref sleeperPid, sleeper.Id);
        var exec = await pipeline.Events.WaitFor<EnrichedExec>(e => e.Process.Pid == sleeper.Id, "exec of sleep 3003", KernelPipeline.EventTimeout);
        await Task.Delay(1_000);
        Assert.DoesNotContain(pipeline.Events.Snapshot(), e => e is EnrichedExit && e.Process.Pid == sleeper.Id);

        var killed = DateTime.UtcNow;
        sleeper.Kill();
        await sleeper.WaitForExitAsync();

        var exit = await pipeline.Events.WaitFor<EnrichedExit>(e => e.Process.ExecId == exec.Process.ExecId,
            "the concluded exit of sleep 3003", KernelPipeline.EventTimeout);
        var concluded = exit.Process.Exit!;
        output.WriteLine($"concluded: {concluded}");
        Assert.Equal((ExitConclusion.Lost, 0, 0), (concluded.Conclusion, concluded.Status, concluded.Signal));
        Assert.InRange(concluded.Time, killed, DateTime.UtcNow);
        Assert.True(concluded.EndedAfter <= concluded.Time);
        Assert.True(pipeline.Metrics.Value("forkline_exits_concluded_total", "lost") >= 1);
        // The test process itself runs on: checked many times, never concluded.
        Assert.DoesNotContain(pipeline.Events.Snapshot(), e => e is EnrichedExit && e.Process.ExecId == ThisProcess.ExecId(Node));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.Terminate();
}
