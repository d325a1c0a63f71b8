using System.Globalization;
using Akka.Actor;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.Kernel.Tests.Pipeline;
using Xunit.Abstractions;

namespace Forkline.Kernel.Tests;

/// <summary>Kernel events through the process actors, as `forkline run` wires them: the enriched view.</summary>
[Collection(KernelCollection.Name)]
public sealed class KernelPipelineTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Node = "kernel-pipeline-test";
    private const uint ChangedUid = 1234; // what threads_calling_hook.c's one thread sets with raw setresuid
    private static readonly HookSpec GetppidHook = HookSpec.Syscall("getppid", HookPhase.Enter);

    private readonly ActorSystem _system = ActorSystem.Create("kernel-pipeline", "akka.loglevel = WARNING");

    [KernelFact]
    public async Task Sleep_started_by_sh_exec_chained_from_bash_has_its_whole_lineage_and_every_exit_pairs_with_its_exec()
    {
        await using var pipeline = await KernelPipeline.StartAsync(_system, Node, output.WriteLine, HookPolicy.CredentialsOnly);
        var (bashPid, sleepExec) = await ShellChain.RunAsync(pipeline);
        await pipeline.StopAsync();

        var chain = pipeline.Events.Snapshot().Where(e => e.Process.Pid == bashPid || e.Process.Pid == sleepExec.Process.Pid).ToList();
        var execs = chain.OfType<EnrichedExec>().ToList();
        var bashExec = Assert.Single(execs, exec => exec.Process.Binary.EndsWith("/bash", StringComparison.Ordinal));
        var shExec = Assert.Single(execs, exec => exec.Process.Binary.EndsWith("/sh", StringComparison.Ordinal));
        Assert.Equal(3, execs.Count);
        Assert.Equal(bashPid, shExec.Process.Pid);
        Assert.Equal<string>(["sleep", "0.2"], sleepExec.Process.Arguments);

        Assert.Equal(shExec.Process.ExecId, sleepExec.Process.ParentExecId);
        Assert.Equal(shExec.Process.ExecId, sleepExec.Parent!.ExecId);
        Assert.Equal(bashExec.Process.ExecId, shExec.Process.ParentExecId);
        Assert.Equal(ThisProcess.ExecId(Node), bashExec.Process.ParentExecId);
        var ancestors = AncestorsOf(sleepExec);
        output.WriteLine("sleep <- sh <- " + string.Join(" <- ", ancestors.Select(a => $"{a.Pid} {a.Binary}")));
        Assert.Equal(bashExec.Process.ExecId, ancestors[0].ExecId);
        Assert.Equal(ThisProcess.ExecId(Node), ancestors[1].ExecId);
        Assert.Equal(1, ancestors[^1].Pid);
        for (var i = 1; i < ancestors.Count; i++) Assert.Equal(ancestors[i].ExecId, ancestors[i - 1].ParentExecId);

        var exits = chain.OfType<EnrichedExit>().ToList();
        Assert.Equal(2, exits.Count); // bash's image was replaced by sh: it ends without an exit of its own
        foreach (var exec in new[] { sleepExec, shExec })
        {
            var exit = Assert.Single(exits, exit => exit.Process.ExecId == exec.Process.ExecId);
            Assert.Equal(exec.Process.Pid, exit.Process.Pid);
            Assert.Equal(0, exit.Process.Exit!.Status);
            Assert.Equal(0, exit.Process.Exit.Signal);
        }
        Assert.All(chain, e => Assert.False(e.Incomplete, $"{e.Kind} of {e.Process.Pid} {e.Process.Binary} was emitted incomplete"));
        Assert.Equal(0, pipeline.Metrics.Value("forkline_tid_pid_mismatch_total", "exec") + pipeline.Metrics.Value("forkline_tid_pid_mismatch_total", "exit"));
    }

    [KernelFact]
    public async Task Hook_events_of_non_leader_threads_carry_a_thread_snapshot_of_the_leader_with_the_threads_own_credentials()
    {
        await using var pipeline = await KernelPipeline.StartAsync(_system, Node, output.WriteLine, HookPolicy.Create([GetppidHook]));
        var path = Workloads.Path("threads_calling_hook");
        using var workload = Workloads.Start(path);
        var printed = await Workloads.RunToExitAsync(workload, expectedExitCode: 0);
        var changedTid = int.Parse(printed.Trim().Split('=')[1], CultureInfo.InvariantCulture);
        var exit = await pipeline.Events.WaitFor<EnrichedExit>(exit => exit.Process.Pid == workload.Id && exit.Process.Binary == path, "exit of the workload", KernelPipeline.EventTimeout);
        await pipeline.StopAsync();

        var hooks = pipeline.Events.Snapshot().OfType<EnrichedHook>().Where(hook => hook.Process.ExecId == exit.Process.ExecId).ToList();
        var getppid = hooks.Where(hook => hook.Hook.Hook.Name == "getppid").ToList();
        Assert.Equal(5 * 3, getppid.Count); // leader + 4 threads, 3 calls each
        Assert.Equal(5, getppid.Select(hook => hook.Hook.Tid).Distinct().Count());
        foreach (var hook in getppid)
        {
            Assert.Equal(0u, hook.Process.Credentials.Uid);
            if (hook.Hook.Tid == workload.Id)
            {
                Assert.Null(hook.Thread);
                continue;
            }
            var thread = Assert.IsType<ThreadSnapshot>(hook.Thread);
            Assert.Equal(hook.Hook.Tid, thread.Tid);
            Assert.NotEqual(thread.Leader.Pid, thread.Tid);
            Assert.Same(hook.Process, thread.Leader);
            var expectedUid = thread.Tid == changedTid ? ChangedUid : 0u;
            Assert.True(thread.Credentials.Uid == expectedUid && thread.Credentials.Euid == expectedUid,
                $"thread {thread.Tid}: credentials {thread.Credentials}, expected uid {expectedUid}");
        }

        var setresuid = Assert.Single(hooks, hook => hook.Hook.Hook.Name == "setresuid");
        Assert.Equal(changedTid, setresuid.Thread!.Tid);
        Assert.Equal(ChangedUid, setresuid.Thread.Credentials.Uid);
        Assert.Equal(0u, setresuid.Process.Credentials.Uid);
        Assert.Equal(0u, exit.Process.Credentials.Uid);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _system.Terminate();

    private static List<ProcessSnapshot> AncestorsOf(EnrichedEvent enriched)
    {
        var ancestors = new List<ProcessSnapshot>();
        for (var link = enriched.Ancestors; link is not null; link = link.Next) ancestors.Add(link.Process);
        return ancestors;
    }
}
