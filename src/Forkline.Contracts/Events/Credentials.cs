namespace Forkline.Contracts.Events;

/// <summary>The eight ids of a task's credentials, as the kernel saw them for one thread.</summary>
public readonly record struct Credentials(
    uint Uid, uint Gid, uint Euid, uint Egid, uint Suid, uint Sgid, uint Fsuid, uint Fsgid);

/// <summary>Capability sets as 64-bit masks (bit n = capability n).</summary>
public readonly record struct Capabilities(ulong Permitted, ulong Effective, ulong Inheritable);

/// <summary>
/// Namespace inode numbers. HostOwned marks those that are the host's own, i.e. init's (Tetragon's
/// "is_host"): bit n for the nth inode above. The collector marks them, since only it can read its
/// host's init; 0 when it could not (or for a capture replayed from a file).
/// </summary>
public readonly record struct Namespaces(
    uint Uts, uint Ipc, uint Mnt, uint Pid, uint PidForChildren, uint Net,
    uint Time, uint TimeForChildren, uint Cgroup, uint User, ushort HostOwned = 0);

/// <summary>The user namespace credentials are relative to: its nesting (0: the host's) and who created it.</summary>
public readonly record struct UserNamespaceOwner(int Level, uint Uid, uint Gid);

/// <summary>
/// Mode bits, owner and group of the file an exec ran, as the kernel computed the new credentials from, and its
/// inode's number and hard-link count (Inode 0: not known, as for a process read from /proc).
/// </summary>
public readonly record struct ExecutedFile(uint Mode, uint Uid, uint Gid, ulong Inode, uint Links)
{
    private const uint SetUserIdBit = 0x800; // S_ISUID
    private const uint SetGroupIdBit = 0x400; // S_ISGID
    private const uint GroupExecuteBit = 0x008; // S_IXGRP: without it S_ISGID means mandatory locking, not set-group-ID

    /// <summary>The exec took its effective uid from the file's set-user-ID bit (not refused, and not a no-op).</summary>
    public bool RaisedUid(in Credentials credentials) =>
        (Mode & SetUserIdBit) != 0 && credentials.Euid == Uid && credentials.Uid != credentials.Euid;

    /// <summary>The exec took its effective gid from the file's set-group-ID bit.</summary>
    public bool RaisedGid(in Credentials credentials) =>
        (Mode & (SetGroupIdBit | GroupExecuteBit)) == (SetGroupIdBit | GroupExecuteBit)
        && credentials.Egid == Gid && credentials.Gid != credentials.Egid;

    /// <summary>
    /// The file is linked in no file system: an anonymous memfd (fexecve of memfd_create's fd), a POSIX shared
    /// memory object or a file deleted before or while it ran. Tetragon's binary_properties.file names these.
    /// </summary>
    public bool Unlinked => Inode != 0 && Links == 0;
}

/// <summary>
/// What the kernel told about a process image at its exec beyond ids, sets and namespaces: secure bits,
/// the user namespace (null when not known: read from /proc), the pid inside its own pid namespace (1: that
/// namespace's init; 0 when not known) and the file run.
/// </summary>
public readonly record struct ExecDetails(uint SecureBits, UserNamespaceOwner? UserNamespace, int NamespacePid, ExecutedFile File);
