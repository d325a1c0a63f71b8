using Forkline.Contracts.Events;
using Xunit.Abstractions;

namespace Forkline.Kernel.Tests;

[Collection(KernelCollection.Name)]
public sealed class ProcfsBootstrapTests(ITestOutputHelper output)
{
    [KernelFact]
    public async Task Process_started_before_the_collector_gets_a_procfs_exec_and_a_bpf_exit_with_the_same_identity()
    {
        using var sleeper = Workloads.Start("/bin/sleep", "2");
        using var session = CollectorSession.Start(output);
        var exec = await session.Events.WaitFor<ExecEvent>(exec => exec.Pid == sleeper.Id, "procfs exec of sleep", CollectorSession.EventTimeout);
        await Workloads.RunToExitAsync(sleeper, expectedExitCode: 0);
        var exit = await session.Events.WaitFor<ExitEvent>(exit => exit.Pid == sleeper.Id, "exit of sleep", CollectorSession.EventTimeout);

        Assert.True((exec.Flags & ExecFlags.Procfs) != 0, $"exec flags {exec.Flags}");
        Assert.Equal<string>(["/bin/sleep", "2"], exec.Arguments);
        Assert.Equal(exec.Key, exit.Key);
        Assert.Equal(0, exit.Status);
    }

    [KernelFact]
    public async Task Procfs_bootstrap_finds_every_ancestor_of_the_test_process()
    {
        using var session = CollectorSession.Start(output);
        await session.Events.WaitFor<ExecEvent>(exec => exec.Pid == Environment.ProcessId, "procfs exec of this test process", CollectorSession.EventTimeout);
        var all = await session.StopAsync();

        var procfsExecs = all.OfType<ExecEvent>().Where(exec => (exec.Flags & ExecFlags.Procfs) != 0).ToDictionary(exec => exec.Key);
        var current = procfsExecs.Values.Single(exec => exec.Pid == Environment.ProcessId);
        var chain = new List<ExecEvent> { current };
        while (current.Parent.Pid != 0)
        {
            Assert.True(procfsExecs.TryGetValue(current.Parent, out var parent),
                $"ancestor {current.Parent} of {current.Key} ({current.Filename}) has no procfs exec");
            current = parent;
            chain.Add(current);
        }
        output.WriteLine(string.Join(" <- ", chain.Select(exec => $"{exec.Pid} {exec.Filename}")));
        Assert.Equal(1, current.Pid);
    }
}
