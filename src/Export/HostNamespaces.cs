using System.Globalization;
using Forkline.Contracts.Events;

namespace Forkline.Export;

/// <summary>
/// The namespaces of the host, i.e. of init (pid 1), which Tetragon's "is_host" compares against.
/// </summary>
public static class HostNamespaces
{
    /// <summary>
    /// Reads /proc/1/ns/* (links such as "mnt:[4026531841]"). A namespace the kernel does not have
    /// (e.g. time before 5.6) reads as 0.
    /// </summary>
    /// <exception cref="IOException">/proc/1/ns cannot be read (no procfs, or not allowed to look at
    /// init, as in a container); the message says why and what to do. The host then passes no host
    /// namespaces and "is_host" is left out.</exception>
    public static Namespaces Read(string procRoot = "/proc")
    {
        var directory = Path.Combine(procRoot, "1", "ns");
        if (!Directory.Exists(directory))
            throw new IOException($"{directory} does not exist — is procfs mounted at {procRoot}?");
        Span<uint> inums = stackalloc uint[NamespaceKinds.Names.Count];
        for (var kind = 0; kind < inums.Length; kind++)
            inums[kind] = ReadInum(Path.Combine(directory, NamespaceKinds.Names[kind]));
        return new Namespaces(inums[0], inums[1], inums[2], inums[3], inums[4], inums[5], inums[6], inums[7], inums[8], inums[9]);
    }

    private static uint ReadInum(string link)
    {
        var file = new FileInfo(link);
        if (!file.Exists) return 0;
        var target = file.LinkTarget
            ?? throw new IOException(
                $"cannot read the link {link} — reading init's namespaces needs root in the host's pid namespace (CAP_SYS_PTRACE over pid 1); without them \"is_host\" is left out");
        var open = target.IndexOf('[');
        var close = target.LastIndexOf(']');
        if (open < 0 || close <= open ||
            !uint.TryParse(target.AsSpan(open + 1, close - open - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var inum))
            throw new IOException($"{link} points to '{target}', not 'kind:[inode]' — is {link} a namespace link of procfs?");
        return inum;
    }
}
