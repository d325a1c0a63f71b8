using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Decoding;

// C# mirrors of bpf/forkline.h. Each type is the PascalCase of its C name (struct fl_exec_event ->
// FlExecEvent, field start_ktime -> StartKtime) because RecordLayoutParityTests pairs them by that
// rule and compares every size and offset with what gcc computes for the header.

/// <summary>The #defines of bpf/forkline.h (FL_FILENAME_MAX -> FilenameMax).</summary>
public static class FlConstants
{
    public const int RecordVersion = 1;
    public const int FilenameMax = 256;
    public const int ArgsMax = 1024;
    public const int CwdMax = 256;
    public const int HookArgs = 6;
    public const int SyscallMax = 512;

    public const int CgroupNameMax = 128;

    /// <summary>One USER_HZ tick: the granularity of /proc/pid/stat start times, which BPF cuts unseen starts to.</summary>
    public const ulong ProcfsTickNs = 10_000_000;

    /// <summary>fl_hook_event.syscall_nr of a hook that is not a syscall (kprobe).</summary>
    public const int HookNoSyscall = 0xffff;
}

/// <summary>enum fl_kind.</summary>
public enum FlKind : ushort
{
    Clone = 1,
    Exec = 2,
    Exit = 3,
    Hook = 4,
    Max = 5,
}

[StructLayout(LayoutKind.Sequential)]
public struct FlHeader
{
    public ushort Kind;
    public ushort Version;
    public uint Size;
    public ulong Ktime;
    public uint Pid;
    public uint Tid;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlKey
{
    public uint Pid;
    public uint Pad;
    public ulong StartKtime;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlCreds
{
    public uint Uid;
    public uint Gid;
    public uint Euid;
    public uint Egid;
    public uint Suid;
    public uint Sgid;
    public uint Fsuid;
    public uint Fsgid;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlCaps
{
    public ulong Permitted;
    public ulong Effective;
    public ulong Inheritable;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlNs
{
    public uint Uts;
    public uint Ipc;
    public uint Mnt;
    public uint Pid;
    public uint PidForChildren;
    public uint Net;
    public uint Time;
    public uint TimeForChildren;
    public uint Cgroup;
    public uint User;
}

/// <summary>enum fl_leader_flags.</summary>
[Flags]
public enum FlLeaderFlags : uint
{
    None = 0,
    /// <summary>Written by the procfs bootstrap, not by a BPF fork/exec.</summary>
    Seeded = 1 << 0,
}

/// <summary>Value of the live-leaders BPF map (key: pid).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FlLeader
{
    public ulong StartKtime;
    public FlKey Parent;
    public uint Flags;
    public uint Pad;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlCloneEvent
{
    public FlHeader H;
    public FlKey Parent;
    public FlCreds Creds;
    public uint Auid;
    public uint Pad;
    public ulong CgroupId;
}

[InlineArray(FlConstants.FilenameMax)]
public struct FlFilenameBytes
{
    private byte _element0;
}

[InlineArray(FlConstants.ArgsMax)]
public struct FlArgsBytes
{
    private byte _element0;
}

[InlineArray(FlConstants.CwdMax)]
public struct FlCwdBytes
{
    private byte _element0;
}

[InlineArray(FlConstants.CgroupNameMax)]
public struct FlCgroupNameBytes
{
    private byte _element0;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlCgroup
{
    public ulong Id;
    public FlCgroupNameBytes Name;
    public FlCgroupNameBytes Parent;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlExecEvent
{
    public FlHeader H;
    public FlKey Parent;
    public FlKey Replaced;
    public FlCreds Creds;
    public FlCaps Caps;
    public FlNs Ns;
    public uint Auid;
    public uint Flags;
    public ulong CgroupId;
    public ushort FilenameLen;
    public ushort ArgsLen;
    public ushort CwdLen;
    public ushort Pad;
    public FlFilenameBytes Filename;
    public FlArgsBytes Args;
    public FlCwdBytes Cwd;
    public uint Securebits;
    public uint NsPid;
    public int UsernsLevel;
    public uint UsernsOwner;
    public uint UsernsGroup;
    public uint FileMode;
    public uint FileUid;
    public uint FileGid;
    public uint FileNlink;
    public uint FilePad;
    public ulong FileIno;
    public FlCgroup Unified;
    public FlCgroup Legacy;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlExitEvent
{
    public FlHeader H;
    public ulong StartKtime;
    public uint ExitCode;
    public uint LastTid;
}

[StructLayout(LayoutKind.Sequential)]
public struct FlHookEvent
{
    public FlHeader H;
    public ulong StartKtime;
    public uint HookId;
    public ushort Phase;
    public ushort SyscallNr;
    public long Ret;
    public FlCreds Creds;
    public FlCaps Caps;
    public FlNs Ns;
    public HookArguments Args;
}

/// <summary>Value of the hook-selection BPF map (key: syscall number); ids are stored plus one.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FlHookSel
{
    public uint HookIdEnter;
    public uint HookIdExit;
}

/// <summary>Conversions between the C layouts and the contract values, shared by decoder and encoder.</summary>
internal static class LayoutConversions
{
    public static Credentials ToCredentials(in FlCreds c) =>
        new(c.Uid, c.Gid, c.Euid, c.Egid, c.Suid, c.Sgid, c.Fsuid, c.Fsgid);

    public static FlCreds ToLayout(in Credentials c) => new()
    {
        Uid = c.Uid, Gid = c.Gid, Euid = c.Euid, Egid = c.Egid,
        Suid = c.Suid, Sgid = c.Sgid, Fsuid = c.Fsuid, Fsgid = c.Fsgid,
    };

    public static Capabilities ToCapabilities(in FlCaps c) => new(c.Permitted, c.Effective, c.Inheritable);

    public static FlCaps ToLayout(in Capabilities c) =>
        new() { Permitted = c.Permitted, Effective = c.Effective, Inheritable = c.Inheritable };

    public static Namespaces ToNamespaces(in FlNs n) =>
        new(n.Uts, n.Ipc, n.Mnt, n.Pid, n.PidForChildren, n.Net, n.Time, n.TimeForChildren, n.Cgroup, n.User);

    public static FlNs ToLayout(in Namespaces n) => new()
    {
        Uts = n.Uts, Ipc = n.Ipc, Mnt = n.Mnt, Pid = n.Pid, PidForChildren = n.PidForChildren,
        Net = n.Net, Time = n.Time, TimeForChildren = n.TimeForChildren, Cgroup = n.Cgroup, User = n.User,
    };

    public static ProcessKey ToProcessKey(in FlKey k) => new((int)k.Pid, k.StartKtime);

    public static FlKey ToLayout(ProcessKey k) =>
        new() { Pid = (uint)k.Pid, StartKtime = k.StartKtime };
}
