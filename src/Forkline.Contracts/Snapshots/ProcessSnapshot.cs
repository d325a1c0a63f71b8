using System.Collections.Immutable;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Contracts.Snapshots;

[Flags]
public enum ProcessFlags : uint
{
    None = 0,
    Exec = 1 << 0,
    Procfs = 1 << 1,
    CloneOnly = 1 << 2,
    ArgsTruncated = 1 << 3,
    CwdTruncated = 1 << 4,
    FilenameTruncated = 1 << 5,
    /// <summary>Emitted without its process or parent being known (out-of-order cache gave up).</summary>
    Incomplete = 1 << 6,
    /// <summary>The kernel could not read the arguments (argv page not resident); Arguments is empty.</summary>
    ArgsUnreadable = 1 << 7,
    /// <summary>The audit uid was never seen (a stand-in for a process that never became known): not 0, unknown.</summary>
    AuidUnknown = 1 << 8,
    /// <summary>The eight ids of Credentials were never seen (the exit of a process never known): not root, unknown.</summary>
    CredentialsUnknown = 1 << 9,
    /// <summary>Capabilities were never seen (an exit, or a fork whose parent was never known).</summary>
    CapabilitiesUnknown = 1 << 10,
    /// <summary>Namespaces were never seen (an exit, or a fork whose parent was never known).</summary>
    NamespacesUnknown = 1 << 11,
}

/// <summary>Why an exit was concluded rather than reported by the kernel.</summary>
public enum ExitConclusion : byte
{
    /// <summary>The kernel reported the exit: status and signal are real.</summary>
    None = 0,

    /// <summary>Gone when a collector started: the process ended while nobody watched the host.</summary>
    Restart = 1,

    /// <summary>Gone at a periodic check: its exit record was lost (ring buffer full, a dropped record).</summary>
    Lost = 2,
}

/// <summary>
/// How a process ended. A concluded exit (<see cref="Conclusion"/> not None) was inferred, not seen:
/// Status and Signal are unknown (0), the end lies between <see cref="EndedAfter"/> and Time.
/// </summary>
public sealed record ProcessExit(int Status, int Signal, ulong Ktime, DateTime Time, int LastTid,
    ExitConclusion Conclusion = ExitConclusion.None, DateTime? EndedAfter = null)
{
    public bool Concluded => Conclusion != ExitConclusion.None;

    public static string ReasonOf(ExitConclusion conclusion) => conclusion switch
    {
        ExitConclusion.Restart => "restart",
        ExitConclusion.Lost => "lost",
        _ => "none",
    };
}

/// <summary>
/// Immutable view of one process image (a thread-group leader) at a point in time. The owning
/// actor makes a new snapshot for every change; a snapshot a writer already holds never changes.
/// Container is null outside any container; InInitTree tells a containerized process descends from
/// its pid namespace's init (not entered from outside, as by kubectl exec or nsenter). UserName is the
/// collector host's name of the effective uid (Tetragon's user.name), null when not looked up or not known.
/// </summary>
public sealed record ProcessSnapshot(
    ExecId ExecId,
    ExecId ParentExecId,
    int Pid,
    string Binary,
    ImmutableArray<string> Arguments,
    string Cwd,
    Credentials Credentials,
    Capabilities Capabilities,
    Namespaces Namespaces,
    uint Auid,
    ulong CgroupId,
    ulong StartKtime,
    DateTime StartTime,
    ProcessFlags Flags,
    ProcessExit? Exit = null,
    ContainerIdentity? Container = null,
    ExecDetails Details = default,
    bool InInitTree = false,
    string? UserName = null)
{
    public ProcessKey Key => new(Pid, StartKtime);

    /// <summary>A snapshot is the thread-group leader's: its TID is the PID (clone/exec/exit TIDs are corrected to it).</summary>
    public int Tid => Pid;
}

/// <summary>
/// The view of one non-leader thread for one hook event: the leader's immutable snapshot plus the
/// thread's own id and the per-thread fields the kernel reported with the event. Nothing of the
/// process is copied.
/// </summary>
public sealed record ThreadSnapshot(ProcessSnapshot Leader, HookEvent Source)
{
    public int Tid => Source.Tid;
    public Credentials Credentials => Source.Credentials;
    public Capabilities Capabilities => Source.Capabilities;
    public Namespaces Namespaces => Source.Namespaces;
}

/// <summary>
/// An immutable, shared chain of ancestors: a child's chain is its parent's snapshot in front of the
/// parent's own chain, so building it copies nothing.
/// </summary>
public sealed record AncestorChain(ProcessSnapshot Process, AncestorChain? Next)
{
    public int Depth => 1 + (Next?.Depth ?? 0);
}
