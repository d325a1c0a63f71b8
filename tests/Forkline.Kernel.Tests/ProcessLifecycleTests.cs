using Forkline.Contracts.Events;
using Xunit.Abstractions;

namespace Forkline.Kernel.Tests;

[Collection(KernelCollection.Name)]
public sealed class ProcessLifecycleTests(ITestOutputHelper output)
{
    [KernelFact]
    public async Task Shell_script_yields_execs_with_parent_chain_and_one_exit_per_process_with_its_status()
    {
        using var session = CollectorSession.Start(output);
        using var shell = Workloads.Start("/bin/sh", "-c", "/bin/true; sleep 0.1; exit 3");
        await Workloads.RunToExitAsync(shell, expectedExitCode: 3);
        await session.Events.WaitFor<ExitEvent>(exit => exit.Pid == shell.Id, "exit of sh", CollectorSession.EventTimeout);
        var all = await session.StopAsync();

        var events = ProcessTree.Of(all, ProcessTree.Subtree(all, shell.Id));
        var execs = events.OfType<ExecEvent>().ToList();
        var sh = Assert.Single(execs, exec => exec.Pid == shell.Id);
        var truePath = Assert.Single(execs, exec => exec.Filename == "/bin/true");
        var sleep = Assert.Single(execs, exec => exec.Filename.EndsWith("/sleep", StringComparison.Ordinal));
        Assert.Equal("/bin/sh", sh.Filename);
        // The collector marks the namespaces that are its host's own (Tetragon's is_host), by init's; none
        // when it cannot read init's (as in a sandbox that hides pid 1's namespaces).
        Assert.Equal(ExpectedHostMarks(sh.Namespaces), sh.Namespaces);
        Assert.Equal<string>(["/bin/sh", "-c", "/bin/true; sleep 0.1; exit 3"], sh.Arguments);
        Assert.Equal(sh.Key, truePath.Parent);
        Assert.Equal(sh.Key, sleep.Parent);
        Assert.Equal<string>(["sleep", "0.1"], sleep.Arguments);
        foreach (var child in new[] { truePath, sleep })
        {
            var clone = Assert.Single(events.OfType<CloneEvent>(), clone => clone.Pid == child.Pid);
            Assert.Equal(sh.Key, clone.Parent);
            Assert.Equal(clone.Key, child.Replaced);
        }

        foreach (var kernelEvent in events.Where(e => e is CloneEvent or ExecEvent or ExitEvent))
            Assert.True(kernelEvent.Tid == kernelEvent.Pid, $"TID {kernelEvent.Tid} != PID {kernelEvent.Pid} on {kernelEvent}");

        foreach (var exec in execs)
        {
            var exit = Assert.Single(events.OfType<ExitEvent>(), exit => exit.Pid == exec.Pid);
            Assert.Equal(exec.Key, exit.Key);
        }
        var shExit = events.OfType<ExitEvent>().Single(exit => exit.Pid == shell.Id);
        Assert.Equal(3, shExit.Status);
        Assert.Equal(0, shExit.Signal);
    }

    [KernelFact]
    public async Task A_binary_execd_by_a_relative_path_is_reported_absolute_from_the_callers_cwd()
    {
        var directory = Directory.CreateTempSubdirectory("forkline-relative-exec-");
        try
        {
            var copy = Path.Combine(directory.FullName, "relative-true");
            File.Copy("/bin/true", copy); // with its mode: executable
            Directory.CreateDirectory(Path.Combine(directory.FullName, "below"));
            using var session = CollectorSession.Start(output);
            using var shell = Workloads.Start("/bin/sh", "-c", $"cd '{directory.FullName}' && ./relative-true && cd below && ../relative-true");
            await Workloads.RunToExitAsync(shell, expectedExitCode: 0);
            await session.Events.WaitFor<ExitEvent>(exit => exit.Pid == shell.Id, "exit of sh", CollectorSession.EventTimeout);
            var all = await session.StopAsync();

            var runs = ProcessTree.Of(all, ProcessTree.Subtree(all, shell.Id)).OfType<ExecEvent>()
                .Where(exec => exec.Arguments.FirstOrDefault()?.EndsWith("relative-true", StringComparison.Ordinal) == true).ToList();
            Assert.Equal(["./relative-true", "../relative-true"], runs.Select(exec => exec.Arguments[0]));
            // The kernel's cwd is the real path (a symlinked /tmp resolved), so both name the copy by it.
            var realDirectory = runs[0].Cwd;
            Assert.EndsWith(directory.Name, realDirectory, StringComparison.Ordinal);
            Assert.Equal($"{realDirectory}/below", runs[1].Cwd);
            Assert.All(runs, exec => Assert.Equal($"{realDirectory}/relative-true", exec.Filename));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private Namespaces ExpectedHostMarks(Namespaces namespaces)
    {
        try
        {
            return Export.NamespaceKinds.MarkHost(namespaces, Export.HostNamespaces.Read());
        }
        catch (IOException e)
        {
            output.WriteLine($"host namespaces unreadable here, so none is marked: {e.Message}");
            return namespaces with { HostOwned = 0 };
        }
    }

    [KernelFact]
    public async Task Process_killed_by_SIGKILL_reports_signal_9()
    {
        using var session = CollectorSession.Start(output);
        using var sleeper = Workloads.Start("/bin/sleep", "30");
        await session.Events.WaitFor<ExecEvent>(exec => exec.Pid == sleeper.Id, "exec of sleep", CollectorSession.EventTimeout);
        sleeper.Kill();
        await sleeper.WaitForExitAsync();

        var exit = await session.Events.WaitFor<ExitEvent>(exit => exit.Pid == sleeper.Id, "exit of sleep", CollectorSession.EventTimeout);

        Assert.Equal(9, exit.Signal);
        Assert.Equal(exit.Pid, exit.Tid);
    }
}
