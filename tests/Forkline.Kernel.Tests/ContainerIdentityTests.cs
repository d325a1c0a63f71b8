using System.Diagnostics;
using Akka.Actor;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Kernel.Tests.Pipeline;
using Xunit.Abstractions;

namespace Forkline.Kernel.Tests;

/// <summary>
/// Container identity from the real kernel: the test makes cgroups named as container runtimes name
/// them, in the cgroup v2 hierarchy and in the v1 memory controller's, moves a shell into one and lets
/// it exec bash (which calls getppid, a hooked syscall, and exits 3). Its exec, hooks and exit must carry
/// the container id (and the pod UID under kubepods); a process outside any container carries none.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class ContainerIdentityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Node = "container-identity-test";
    private const string Unified = "/sys/fs/cgroup/unified";
    private const string Memory = "/sys/fs/cgroup/memory";
    private const string PodUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";

    private static readonly HookSpec GetppidHook = HookSpec.Syscall("getppid", HookPhase.Enter);

    private readonly ActorSystem _system = ActorSystem.Create("container-identity", "akka.loglevel = WARNING");
    private readonly TestCgroups _cgroups = new();

    public static TheoryData<string, string, string?> Layouts() => new()
    {
        // hierarchy root, cgroup below it ({0}: the container id), pod UID it names
        { Unified, "system.slice/docker-{0}.scope", null },
        { Unified, "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + PodUid.Replace('-', '_') + ".slice/cri-containerd-{0}.scope", PodUid },
        { Unified, "machine.slice/libpod-{0}.scope", null },
        { Memory, "docker/{0}", null },
        { Memory, "kubepods/besteffort/pod" + PodUid + "/{0}", PodUid },
        { Memory, "kubepods/burstable/pod" + PodUid + "/crio-{0}.scope", PodUid },
    };

    [KernelTheory]
    [MemberData(nameof(Layouts))]
    public async Task Exec_hooks_and_exit_of_a_process_in_a_runtime_named_cgroup_carry_its_container_id_and_pod_uid(string hierarchy, string layout, string? podUid)
    {
        if (!Directory.Exists(hierarchy))
        {
            output.WriteLine($"skipped: {hierarchy} is not mounted on this host");
            return;
        }
        var containerId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var cgroup = _cgroups.Create(hierarchy, string.Format(System.Globalization.CultureInfo.InvariantCulture, layout, containerId));
        await using var pipeline = await KernelPipeline.StartAsync(_system, Node, output.WriteLine, HookPolicy.Create([GetppidHook]));

        var pid = await RunBashIn(cgroup);
        var exit = await pipeline.Events.WaitFor<EnrichedExit>(e => e.Process.Pid == pid && e.Process.Binary.EndsWith("/bash", StringComparison.Ordinal),
            "exit of bash in the container cgroup", KernelPipeline.EventTimeout);
        await pipeline.StopAsync();

        var expected = new ContainerIdentity(containerId, podUid);
        var events = pipeline.Events.Snapshot().Where(e => e.Process.ExecId == exit.Process.ExecId).ToList();
        var exec = Assert.Single(events.OfType<EnrichedExec>());
        var hooks = events.OfType<EnrichedHook>().ToList();
        Assert.NotEmpty(hooks);
        Assert.Equal(expected, exec.Process.Container);
        Assert.All(hooks, hook => Assert.Equal(expected, hook.Process.Container));
        Assert.Equal(expected, exit.Process.Container);
        Assert.Equal(3, exit.Process.Exit!.Status);
        // The shell that moved itself was exec'd outside; its image (the exec's parent) carries none.
        Assert.Null(exec.Parent!.Container);
    }

    [KernelFact]
    public async Task A_process_outside_any_container_carries_no_container()
    {
        await using var pipeline = await KernelPipeline.StartAsync(_system, Node, output.WriteLine, HookPolicy.Create([GetppidHook]));
        using var bash = Process.Start(new ProcessStartInfo("/bin/bash", ["-c", "exit 3"]))!;
        await bash.WaitForExitAsync();
        var exit = await pipeline.Events.WaitFor<EnrichedExit>(e => e.Process.Pid == bash.Id, "exit of bash", KernelPipeline.EventTimeout);
        await pipeline.StopAsync();

        var events = pipeline.Events.Snapshot().Where(e => e.Process.ExecId == exit.Process.ExecId).ToList();
        Assert.Contains(events, e => e is EnrichedHook);
        Assert.All(events, e => Assert.Null(e.Process.Container));
        Assert.False(exit.Process.InInitTree);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        _cgroups.Dispose();
    }

    /// <summary>A shell writes itself into the cgroup, then execs bash there; returns the pid, once it has exited.</summary>
    private static async Task<int> RunBashIn(string cgroup)
    {
        using var shell = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"echo $$ > '{cgroup}/cgroup.procs' && exec /bin/bash -c 'exit 3'"])
        {
            RedirectStandardError = true,
        })!;
        var errors = await shell.StandardError.ReadToEndAsync();
        await shell.WaitForExitAsync();
        Assert.True(shell.ExitCode == 3, $"the shell in {cgroup} ended {shell.ExitCode}: {errors}");
        return shell.Id;
    }
}
