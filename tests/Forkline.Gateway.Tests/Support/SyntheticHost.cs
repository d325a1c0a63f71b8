using System.Collections.Immutable;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.Tests.Support;

/// <summary>
/// Makes the enriched events one host's process actors would emit, without a kernel: each new process
/// gets a later start ktime, times follow the ktimes, exits carry the exit in the process snapshot.
/// </summary>
public sealed class SyntheticHost(string node)
{
    public static readonly DateTime Boot = new(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    private ulong _ktime = 1_000_000_000;

    public string Node { get; } = node;

    public DateTime TimeOf(ulong ktime) => Boot.AddTicks((long)(ktime / 100));

    /// <summary>The current boot-clock time: every call moves it forward by one millisecond.</summary>
    public ulong Tick() => _ktime += 1_000_000;

    public ProcessSnapshot NewProcess(int pid, ProcessSnapshot? parent, string binary, params string[] arguments)
    {
        var start = Tick();
        return new ProcessSnapshot(
            new ExecId(Node, start, pid),
            parent?.ExecId ?? default,
            pid, binary, [binary, .. arguments], "/work", // argv[0] first, as the kernel reports it
            new Credentials(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000),
            new Capabilities(0, 0, 0),
            new Namespaces(1, 2, 3, 4, 4, 5, 6, 6, 7, 8),
            1000, 42, start, TimeOf(start), ProcessFlags.Exec);
    }

    public EnrichedExec Exec(ProcessSnapshot process, ProcessSnapshot? parent) =>
        new(Node, process.StartTime, process.StartKtime, process, parent, null);

    public EnrichedClone Clone(ProcessSnapshot process, ProcessSnapshot? parent) =>
        new(Node, process.StartTime, process.StartKtime, process with { Flags = ProcessFlags.CloneOnly }, parent, null);

    public EnrichedExit Exit(ProcessSnapshot process, ProcessSnapshot? parent, int status = 0, int signal = 0)
    {
        var at = Tick();
        var exited = process with { Exit = new ProcessExit(status, signal, at, TimeOf(at), process.Pid) };
        return new EnrichedExit(Node, TimeOf(at), at, exited, parent, null);
    }

    public EnrichedHook Hook(ProcessSnapshot process, ProcessSnapshot? parent, int tid)
    {
        var at = Tick();
        var arguments = new HookArguments();
        arguments[0] = 3;
        arguments[1] = 0x7fff_0000;
        var hook = new HookEvent(process.Pid, tid, at, process.StartKtime,
            new HookDescriptor(7, "sys_openat", HookKind.Syscall, ChangesCredentials: false),
            HookPhase.Exit, 257, 3, process.Credentials, process.Capabilities, process.Namespaces, arguments);
        return new EnrichedHook(Node, TimeOf(at), at, process, parent, null, hook, tid == process.Pid ? null : new ThreadSnapshot(process, hook));
    }

    /// <summary>init -> bash -> sh -> sleep, all live: the events and the four processes.</summary>
    public (List<EnrichedEvent> Events, ProcessSnapshot Init, ProcessSnapshot Bash, ProcessSnapshot Sh, ProcessSnapshot Sleep) ShellChain(int basePid)
    {
        var init = NewProcess(basePid, null, "/sbin/init");
        var bash = NewProcess(basePid + 1, init, "/bin/bash", "-c", "sh -c \"sleep 0.2\"");
        var sh = NewProcess(basePid + 2, bash, "/bin/sh", "-c", "sleep 0.2");
        var sleep = NewProcess(basePid + 3, sh, "/bin/sleep", "0.2");
        List<EnrichedEvent> events = [Exec(init, null), Exec(bash, init), Exec(sh, bash), Exec(sleep, sh)];
        return (events, init, bash, sh, sleep);
    }

    public static ImmutableArray<string> Args(params string[] arguments) => [.. arguments];
}
