namespace Forkline.Contracts.Events;

/// <summary>The eight ids of a task's credentials, as the kernel saw them for one thread.</summary>
public readonly record struct Credentials(
    uint Uid, uint Gid, uint Euid, uint Egid, uint Suid, uint Sgid, uint Fsuid, uint Fsgid);

/// <summary>Capability sets as 64-bit masks (bit n = capability n).</summary>
public readonly record struct Capabilities(ulong Permitted, ulong Effective, ulong Inheritable);

/// <summary>Namespace inode numbers.</summary>
public readonly record struct Namespaces(
    uint Uts, uint Ipc, uint Mnt, uint Pid, uint PidForChildren, uint Net,
    uint Time, uint TimeForChildren, uint Cgroup, uint User);
