using System.Globalization;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Events;
using Xunit.Abstractions;

namespace Forkline.Kernel.Tests;

[Collection(KernelCollection.Name)]
public sealed class ThreadTests(ITestOutputHelper output)
{
    private const uint ChangedUid = 1234;
    private static readonly HookSpec GetppidHook = HookSpec.Syscall("getppid", HookPhase.Enter);

    [KernelFact]
    public async Task Hook_events_of_threads_carry_one_pid_their_own_tids_and_their_own_credentials()
    {
        using var session = CollectorSession.Start(output, GetppidHook);
        using var workload = Workloads.Start(Workloads.Path("threads_calling_hook"));
        var printed = await Workloads.RunToExitAsync(workload, expectedExitCode: 0);
        var changedTid = int.Parse(printed.Trim().Split('=')[1], CultureInfo.InvariantCulture);
        await session.Events.WaitFor<ExitEvent>(exit => exit.Pid == workload.Id, "exit of the workload", CollectorSession.EventTimeout);
        var all = await session.StopAsync();

        var hooks = all.OfType<HookEvent>().Where(hook => hook.Pid == workload.Id).ToList();
        var getppid = hooks.Where(hook => hook.Hook.Name == "getppid").ToList();
        Assert.Equal(5 * 3, getppid.Count); // leader + 4 threads, 3 calls each
        var tids = getppid.Select(hook => hook.Tid).Distinct().ToList();
        Assert.Equal(5, tids.Count);
        Assert.Equal(3, getppid.Count(hook => hook.Tid == workload.Id));
        Assert.Contains(changedTid, tids);
        Assert.NotEqual(workload.Id, changedTid);

        foreach (var hook in getppid)
        {
            Assert.Equal(hook.Tid != workload.Id, hook.IsThread);
            var expectedUid = hook.Tid == changedTid ? ChangedUid : 0u;
            Assert.True(hook.Credentials.Uid == expectedUid && hook.Credentials.Euid == expectedUid && hook.Credentials.Suid == expectedUid,
                $"thread {hook.Tid}: credentials {hook.Credentials}, expected uid {expectedUid}");
        }

        var setresuid = Assert.Single(hooks, hook => hook.Hook.Name == "setresuid");
        Assert.True(setresuid.Hook.ChangesCredentials);
        Assert.Equal(HookPhase.Exit, setresuid.Phase);
        Assert.Equal(changedTid, setresuid.Tid);
        Assert.Equal(0, setresuid.Return);
        Assert.Equal(ChangedUid, setresuid.Credentials.Uid);
        for (var argument = 0; argument < 3; argument++) Assert.Equal(ChangedUid, setresuid.Arguments[argument]);
    }

    [KernelFact]
    public async Task Exit_of_a_group_whose_leader_exited_first_is_reported_once_when_the_last_thread_ends_with_tid_equal_pid()
    {
        using var session = CollectorSession.Start(output, GetppidHook);
        using var workload = Workloads.Start(Workloads.Path("leader_exits_first"));
        await Workloads.RunToExitAsync(workload, expectedExitCode: 0);
        await session.Events.WaitFor<ExitEvent>(exit => exit.Pid == workload.Id, "exit of the workload", CollectorSession.EventTimeout);
        var all = await session.StopAsync();

        var exit = Assert.Single(all.OfType<ExitEvent>(), exit => exit.Pid == workload.Id);
        Assert.Equal(workload.Id, exit.Tid);
        Assert.NotEqual(workload.Id, exit.LastTid);
        Assert.Equal(0, exit.Status);
        var exec = Assert.Single(all.OfType<ExecEvent>(), exec => exec.Pid == workload.Id);
        Assert.Equal(exec.Key, exit.Key);
        var threadCalls = all.OfType<HookEvent>().Where(hook => hook.Pid == workload.Id).ToList();
        Assert.Equal(3, threadCalls.Count);
        Assert.All(threadCalls, hook => Assert.True(hook.Ktime < exit.Ktime, $"thread {hook.Tid} called getppid at {hook.Ktime}, after the exit at {exit.Ktime}"));
        Assert.Contains(threadCalls, hook => hook.Tid == exit.LastTid);
    }

    [KernelFact]
    public async Task Exec_called_from_a_non_leader_thread_is_reported_with_tid_equal_pid()
    {
        using var session = CollectorSession.Start(output);
        var path = Workloads.Path("exec_from_thread");
        using var workload = Workloads.Start(path);
        await Workloads.RunToExitAsync(workload, expectedExitCode: 0);
        await session.Events.WaitFor<ExitEvent>(exit => exit.Pid == workload.Id, "exit of the workload", CollectorSession.EventTimeout);
        var all = await session.StopAsync();

        var execs = all.OfType<ExecEvent>().Where(exec => exec.Pid == workload.Id).ToList();
        var first = Assert.Single(execs, exec => exec.Filename == path);
        var fromThread = Assert.Single(execs, exec => exec.Filename == "/bin/true");
        Assert.Equal(workload.Id, fromThread.Tid);
        Assert.Equal(first.Key, fromThread.Replaced);
        Assert.Equal(first.Parent, fromThread.Parent);
        var exit = Assert.Single(all.OfType<ExitEvent>(), exit => exit.Pid == workload.Id);
        Assert.Equal(fromThread.Key, exit.Key);
        Assert.Equal(workload.Id, exit.Tid);
    }
}
