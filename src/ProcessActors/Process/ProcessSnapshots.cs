using System.Collections.Immutable;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Export;

namespace Forkline.ProcessActors.Process;

/// <summary>Builds the immutable snapshots of process images from the events that create them.</summary>
internal sealed class ProcessSnapshots(string node, BootClock clock, UserNameOf? userNames)
{
    private const ProcessFlags ImageFlags =
        ProcessFlags.ArgsTruncated | ProcessFlags.CwdTruncated | ProcessFlags.FilenameTruncated | ProcessFlags.ArgsUnreadable;

    public string Node => node;

    public BootClock Clock => clock;

    public ExecId ExecIdOf(ProcessKey key) => key.IsNone ? default : ExecId.For(node, key);

    public ProcessSnapshot FromExec(ExecEvent exec, ProcessKey parentKey, bool incomplete) =>
        new(ExecIdOf(exec.Key), ExecIdOf(parentKey), exec.Pid, exec.Filename, exec.Arguments, exec.Cwd,
            exec.Credentials, exec.Capabilities, exec.Namespaces, exec.Auid, exec.CgroupId,
            exec.Ktime, clock.ToUtc(exec.Ktime), FlagsOf(exec.Flags, incomplete),
            Container: exec.Container, Details: exec.Details,
            // A pid namespace's init in a container roots the init tree; its descendants join in Link.
            InInitTree: exec.Container is not null && exec.Details.NamespacePid == 1,
            UserName: UserNameOf(exec.Credentials, exec.Namespaces));

    /// <summary>
    /// The host's name of the effective uid (the uid Tetragon writes and names), for a process in the host's own
    /// mount and user namespaces only, as Tetragon: in another user namespace the uid is not the host's, in another
    /// mount namespace (a container) the process has its own /etc/passwd. Namespaces are host-owned only as the
    /// collector marked them, so a capture replayed from a file gets no names.
    /// </summary>
    public string? UserNameOf(in Credentials credentials, in Namespaces namespaces) =>
        userNames is not null
        && NamespaceKinds.IsHostOwned(namespaces, NamespaceKind.Mnt)
        && NamespaceKinds.IsHostOwned(namespaces, NamespaceKind.User)
            ? userNames(credentials.Euid)
            : null;

    /// <summary>
    /// A containerized image whose parent is in its container's init tree, in the same pid namespace, is
    /// in it too; one entered from outside (kubectl exec, nsenter) has a parent outside and is not.
    /// </summary>
    public static bool JoinsInitTree(ProcessSnapshot process, ProcessSnapshot? parent) =>
        process is { Container: not null, InInitTree: false }
        && parent is { InInitTree: true }
        && parent.Namespaces.Pid == process.Namespaces.Pid;

    /// <summary>
    /// A fork runs its parent's image with its own credentials; without the parent the image, its
    /// capabilities and namespaces are unknown (the fork record carries only ids and the audit uid).
    /// </summary>
    public ProcessSnapshot FromClone(CloneEvent clone, ProcessKey parentKey, ProcessSnapshot? parent, bool incomplete)
    {
        var flags = ProcessFlags.CloneOnly | (parent is null || incomplete ? ProcessFlags.Incomplete : ProcessFlags.None);
        if (parent is null)
            return new ProcessSnapshot(ExecIdOf(clone.Key), ExecIdOf(parentKey), clone.Pid, "", [], "",
                clone.Credentials, default, default, clone.Auid, clone.CgroupId,
                clone.Ktime, clock.ToUtc(clone.Ktime), flags | ProcessFlags.CapabilitiesUnknown | ProcessFlags.NamespacesUnknown);
        return new ProcessSnapshot(ExecIdOf(clone.Key), parent.ExecId, clone.Pid, parent.Binary, parent.Arguments, parent.Cwd,
            clone.Credentials, parent.Capabilities, parent.Namespaces, clone.Auid, clone.CgroupId,
            clone.Ktime, clock.ToUtc(clone.Ktime), flags | (parent.Flags & ImageFlags),
            Container: parent.Container, Details: parent.Details with { NamespacePid = 0 }, InInitTree: parent.InInitTree,
            UserName: UserNameOf(clone.Credentials, parent.Namespaces));
    }

    /// <summary>
    /// Stands in for a process that never became known, so a hook of it can still be emitted (flagged
    /// incomplete): the ids, capabilities and namespaces are the calling thread's, the audit uid is unknown.
    /// </summary>
    public ProcessSnapshot UnknownCalling(ProcessKey key, HookEvent hook) =>
        Unknown(key, hook.Credentials, hook.Capabilities, hook.Namespaces, ProcessFlags.AuidUnknown);

    /// <summary>Stands in for a process that never became known at its exit: nothing of it but its key was seen.</summary>
    public ProcessSnapshot UnknownExited(ProcessKey key, ProcessExit exit) =>
        Unknown(key, default, default, default,
            ProcessFlags.AuidUnknown | ProcessFlags.CredentialsUnknown | ProcessFlags.CapabilitiesUnknown | ProcessFlags.NamespacesUnknown)
        with { Exit = exit };

    // Unknown values are default (0) in memory and flagged, so no writer takes them for root's.
    private ProcessSnapshot Unknown(ProcessKey key, Credentials credentials, Capabilities capabilities, Namespaces namespaces, ProcessFlags unknown) =>
        new(ExecIdOf(key), default, key.Pid, "", ImmutableArray<string>.Empty, "",
            credentials, capabilities, namespaces, 0, 0,
            key.StartKtime, clock.ToUtc(key.StartKtime), ProcessFlags.Incomplete | unknown);

    private static ProcessFlags FlagsOf(ExecFlags flags, bool incomplete)
    {
        var result = ProcessFlags.Exec;
        if ((flags & ExecFlags.Procfs) != 0) result |= ProcessFlags.Procfs;
        if ((flags & ExecFlags.ArgsTruncated) != 0) result |= ProcessFlags.ArgsTruncated;
        if ((flags & ExecFlags.CwdTruncated) != 0) result |= ProcessFlags.CwdTruncated;
        if ((flags & ExecFlags.FilenameTruncated) != 0) result |= ProcessFlags.FilenameTruncated;
        if ((flags & ExecFlags.ArgsUnreadable) != 0) result |= ProcessFlags.ArgsUnreadable;
        if (incomplete) result |= ProcessFlags.Incomplete;
        return result;
    }
}
