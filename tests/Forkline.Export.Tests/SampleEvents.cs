using System.Collections.Immutable;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Export;

namespace Forkline.Export.Tests;

/// <summary>A small lineage, bash (100) -> sh (200) -> sleep (300), and events on it.</summary>
internal static class SampleEvents
{
    public const string Node = "node-a";

    public static readonly DateTime EventTime = new DateTime(2024, 5, 1, 12, 0, 1, DateTimeKind.Utc).AddTicks(2_500_000);

    /// <summary>init's namespace inodes on the sample host.</summary>
    public static readonly Namespaces InitInodes = new(
        Uts: 4026531838, Ipc: 4026531839, Mnt: 4026531841, Pid: 4026531836, PidForChildren: 4026531836,
        Net: 4026531840, Time: 4026531834, TimeForChildren: 4026531834, Cgroup: 4026531835, User: 4026531837);

    /// <summary>init's namespaces as the sample host's collector decodes them: each marked the host's own.</summary>
    public static readonly Namespaces InitNamespaces = OnThisHost(InitInodes);

    /// <summary><paramref name="inodes"/> as the sample host's collector decodes them: those of init marked the host's own.</summary>
    public static Namespaces OnThisHost(Namespaces inodes) => NamespaceKinds.MarkHost(inodes, InitInodes);

    public static readonly Credentials Root = new(0, 0, 0, 0, 0, 0, 0, 0);

    public static readonly Credentials User = new(Uid: 1000, Gid: 1001, Euid: 1002, Egid: 1003, Suid: 1004, Sgid: 1005, Fsuid: 1006, Fsgid: 1007);

    // CAP_CHOWN (0), DAC_OVERRIDE (1), CAP_KILL (5), CAP_SYS_ADMIN (21), CAP_BPF (39)
    public static readonly Capabilities SomeCapabilities = new(
        Permitted: 1UL << 0 | 1UL << 1 | 1UL << 5 | 1UL << 21 | 1UL << 39,
        Effective: 1UL << 21,
        Inheritable: 0);

    public static readonly ProcessSnapshot Bash = Process(
        pid: 100, start: 1_000, parent: default, binary: "/usr/bin/bash", argv: ["bash"], flags: ProcessFlags.Procfs);

    public static readonly ProcessSnapshot Sh = Process(
        pid: 200, start: 2_000, parent: Bash.ExecId, binary: "/bin/sh", argv: ["sh", "-c", "sleep 0.2"], flags: ProcessFlags.Exec);

    public static readonly ProcessSnapshot Sleep = Process(
        pid: 300, start: 3_000, parent: Sh.ExecId, binary: "/usr/bin/sleep", argv: ["sleep", "0.2"], flags: ProcessFlags.Exec,
        credentials: User, capabilities: SomeCapabilities, startTime: new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc).AddTicks(1_234_567));

    /// <summary>sleep's own chain, as the actors build it: its parent first.</summary>
    public static readonly AncestorChain SleepAncestors = new(Sh, new AncestorChain(Bash, null));

    public static ProcessSnapshot Process(
        int pid, ulong start, ExecId parent, string binary, ImmutableArray<string> argv, ProcessFlags flags,
        Credentials? credentials = null, Capabilities? capabilities = null, Namespaces? namespaces = null,
        string cwd = "/home/user", DateTime? startTime = null, ProcessExit? exit = null) =>
        new(ExecId: new ExecId(Node, start, pid),
            ParentExecId: parent,
            Pid: pid,
            Binary: binary,
            Arguments: argv,
            Cwd: cwd,
            Credentials: credentials ?? Root,
            Capabilities: capabilities ?? default,
            Namespaces: namespaces ?? InitNamespaces,
            Auid: 1000,
            CgroupId: 42,
            StartKtime: start,
            StartTime: startTime ?? new DateTime(2024, 5, 1, 11, 0, 0, DateTimeKind.Utc),
            Flags: flags,
            Exit: exit);

    public static EnrichedExec Exec(ProcessSnapshot? process = null) =>
        new(Node, EventTime, 3_000, process ?? Sleep, Sh, SleepAncestors);

    public static EnrichedExit Exit(int status = 0, int signal = 0) =>
        new(Node, EventTime, 4_000,
            Sleep with { Exit = new ProcessExit(status, signal, 4_000, EventTime.AddSeconds(1), LastTid: 300) },
            Sh, SleepAncestors);

    public static EnrichedClone Clone() =>
        new(Node, EventTime, 5_000,
            Process(pid: 400, start: 5_000, parent: Sh.ExecId, binary: "/bin/sh", argv: ["sh", "-c", "sleep 0.2"],
                flags: ProcessFlags.Exec | ProcessFlags.CloneOnly),
            Sh, SleepAncestors);

    /// <summary>The exit of sleep when it never became known: only its key and its end were seen (ProcessSnapshots.UnknownExited).</summary>
    public static EnrichedExit ExitOfUnknown() =>
        new(Node, EventTime, 4_000,
            Process(pid: 300, start: 3_000, parent: default, binary: "", argv: [], cwd: "", namespaces: default(Namespaces),
                flags: ProcessFlags.Incomplete | ProcessFlags.AuidUnknown | ProcessFlags.CredentialsUnknown
                    | ProcessFlags.CapabilitiesUnknown | ProcessFlags.NamespacesUnknown,
                exit: new ProcessExit(9, 0, 4_000, EventTime, LastTid: 300)) with { Auid = 0, CgroupId = 0 },
            null, null);

    /// <summary>A hook of sleep when it never became known: the calling thread's own view was seen, not the audit uid (ProcessSnapshots.UnknownCalling).</summary>
    public static EnrichedHook HookOfUnknown(HookDescriptor descriptor)
    {
        var known = Hook(descriptor);
        var standIn = Process(pid: 300, start: 3_000, parent: default, binary: "", argv: [], cwd: "",
            credentials: known.Hook.Credentials, capabilities: known.Hook.Capabilities, namespaces: known.Hook.Namespaces,
            flags: ProcessFlags.Incomplete | ProcessFlags.AuidUnknown) with { Auid = 0, CgroupId = 0 };
        return known with { Process = standIn, Parent = null, Ancestors = null };
    }

    public static readonly HookDescriptor SetuidHook = new(Id: 1, Name: "setuid", Kind: HookKind.Syscall, ChangesCredentials: true);

    public static readonly HookDescriptor CommitCredsHook = new(Id: 2, Name: "commit_creds", Kind: HookKind.Kprobe, ChangesCredentials: false);

    public static readonly HookDescriptor SchedSwitchHook = new(Id: 3, Name: "sched:sched_switch", Kind: HookKind.Tracepoint, ChangesCredentials: false);

    /// <summary>A hook event of sleep; tid 300 is the leader, any other tid a thread with its own view.</summary>
    public static EnrichedHook Hook(
        HookDescriptor descriptor, int tid = 300, HookPhase phase = HookPhase.Enter, long returned = 0,
        Credentials? credentials = null, Capabilities? capabilities = null, Namespaces? namespaces = null)
    {
        var arguments = new HookArguments();
        for (var i = 0; i < HookArguments.Count; i++) arguments[i] = (ulong)(i + 1) * 10;
        arguments[5] = ulong.MaxValue;
        var call = new HookEvent(
            Pid: 300, Tid: tid, Ktime: 6_000, StartKtime: Sleep.StartKtime, Hook: descriptor, Phase: phase, SyscallNr: 105,
            Return: returned, Credentials: credentials ?? Sleep.Credentials, Capabilities: capabilities ?? Sleep.Capabilities,
            Namespaces: namespaces ?? Sleep.Namespaces, Arguments: arguments);
        var thread = tid == 300 ? null : new ThreadSnapshot(Sleep, call);
        return new EnrichedHook(Node, EventTime, 6_000, Sleep, Sh, SleepAncestors, call, thread);
    }
}
