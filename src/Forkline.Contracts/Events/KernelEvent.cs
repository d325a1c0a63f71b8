using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Forkline.Contracts.Identity;

namespace Forkline.Contracts.Events;

/// <summary>
/// One decoded kernel record. Pid is the thread-group id; Tid the thread; Ktime the boot-clock
/// nanoseconds of the event. Values are immutable and safe to share between threads and actors.
/// </summary>
public abstract record KernelEvent(int Pid, int Tid, ulong Ktime);

[Flags]
public enum ExecFlags : uint
{
    None = 0,
    FilenameTruncated = 1 << 0,
    ArgsTruncated = 1 << 1,
    CwdTruncated = 1 << 2,
    ArgsUnreadable = 1 << 3,
    ParentUnknown = 1 << 4,
    /// <summary>Synthesized from /proc at collector start, not seen by BPF.</summary>
    Procfs = 1 << 16,
}

/// <summary>A new thread-group leader (fork / clone without CLONE_THREAD). Ktime is its start.</summary>
public sealed record CloneEvent(
    int Pid, int Tid, ulong Ktime,
    ProcessKey Parent,
    Credentials Credentials,
    uint Auid,
    ulong CgroupId) : KernelEvent(Pid, Tid, Ktime)
{
    public ProcessKey Key => new(Pid, Ktime);
}

/// <summary>A successful exec: a new process image whose start is Ktime. Container: null outside any container.</summary>
public sealed record ExecEvent(
    int Pid, int Tid, ulong Ktime,
    ProcessKey Parent,
    ProcessKey Replaced,
    string Filename,
    ImmutableArray<string> Arguments,
    string Cwd,
    Credentials Credentials,
    Capabilities Capabilities,
    Namespaces Namespaces,
    uint Auid,
    ulong CgroupId,
    ExecFlags Flags,
    ContainerIdentity? Container = null,
    ExecDetails Details = default) : KernelEvent(Pid, Tid, Ktime)
{
    public ProcessKey Key => new(Pid, Ktime);
}

/// <summary>The last thread of a group exited. ExitCode is the raw wait status.</summary>
public sealed record ExitEvent(
    int Pid, int Tid, ulong Ktime,
    ulong StartKtime,
    uint ExitCode,
    int LastTid) : KernelEvent(Pid, Tid, Ktime)
{
    public ProcessKey Key => new(Pid, StartKtime);

    /// <summary>exit() status when the process exited normally, else 0.</summary>
    public int Status => (int)((ExitCode >> 8) & 0xff);

    /// <summary>Terminating signal, 0 when the process exited normally.</summary>
    public int Signal => (int)(ExitCode & 0x7f);
}

public enum HookKind : byte
{
    Syscall = 0,
    Tracepoint = 1,
    Kprobe = 2,
}

public enum HookPhase : byte
{
    Enter = 0,
    Exit = 1,
}

/// <summary>Up to six raw arguments of a hooked call, held inline (no array allocation).</summary>
[InlineArray(Count)]
public struct HookArguments : IEquatable<HookArguments>
{
    public const int Count = 6;
    private ulong _element0;

    // The runtime refuses the built-in ValueType equality for inline arrays (NotSupportedException),
    // which HookEvent's record equality would otherwise call.
    public readonly bool Equals(HookArguments other) => ((ReadOnlySpan<ulong>)this).SequenceEqual(other);

    public override readonly bool Equals(object? obj) => obj is HookArguments other && Equals(other);

    public override readonly int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var argument in (ReadOnlySpan<ulong>)this) hash.Add(argument);
        return hash.ToHashCode();
    }
}

/// <summary>
/// A hooked call made by any thread. Credentials, capabilities and namespaces are that thread's own,
/// as the kernel saw them at event time (threads can differ from their leader).
/// </summary>
public sealed record HookEvent(
    int Pid, int Tid, ulong Ktime,
    ulong StartKtime,
    HookDescriptor Hook,
    HookPhase Phase,
    int SyscallNr,
    long Return,
    Credentials Credentials,
    Capabilities Capabilities,
    Namespaces Namespaces,
    HookArguments Arguments) : KernelEvent(Pid, Tid, Ktime)
{
    public ProcessKey Key => new(Pid, StartKtime);

    public bool IsThread => Tid != Pid;
}

/// <summary>
/// One entry of the loaded hook policy. Created once per policy load and shared by every event of
/// that hook, so a hook event carries its name without allocating it.
/// </summary>
public sealed record HookDescriptor(int Id, string Name, HookKind Kind, bool ChangesCredentials);
