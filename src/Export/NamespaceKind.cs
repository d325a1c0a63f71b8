using Forkline.Contracts.Events;

namespace Forkline.Export;

/// <summary>The namespaces of a task, in Tetragon's order; the JSON names are the snake_case forms.</summary>
public enum NamespaceKind
{
    Uts,
    Ipc,
    Mnt,
    Pid,
    PidForChildren,
    Net,
    Time,
    TimeForChildren,
    Cgroup,
    User,
}

public static class NamespaceKinds
{
    /// <summary>The names used in JSON, filters and /proc/&lt;pid&gt;/ns, indexed by <see cref="NamespaceKind"/>.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user"];

    public static uint Inum(in Namespaces namespaces, NamespaceKind kind) => kind switch
    {
        NamespaceKind.Uts => namespaces.Uts,
        NamespaceKind.Ipc => namespaces.Ipc,
        NamespaceKind.Mnt => namespaces.Mnt,
        NamespaceKind.Pid => namespaces.Pid,
        NamespaceKind.PidForChildren => namespaces.PidForChildren,
        NamespaceKind.Net => namespaces.Net,
        NamespaceKind.Time => namespaces.Time,
        NamespaceKind.TimeForChildren => namespaces.TimeForChildren,
        NamespaceKind.Cgroup => namespaces.Cgroup,
        NamespaceKind.User => namespaces.User,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a namespace kind"),
    };

    /// <summary><paramref name="namespaces"/> with each namespace whose inode is <paramref name="host"/>'s marked host-owned (and no other).</summary>
    public static Namespaces MarkHost(in Namespaces namespaces, in Namespaces host)
    {
        var owned = 0;
        for (var kind = NamespaceKind.Uts; kind <= NamespaceKind.User; kind++)
        {
            var inum = Inum(namespaces, kind);
            if (inum != 0 && inum == Inum(host, kind)) owned |= 1 << (int)kind;
        }
        return namespaces with { HostOwned = (ushort)owned };
    }

    public static bool IsHostOwned(in Namespaces namespaces, NamespaceKind kind) => (namespaces.HostOwned & (1 << (int)kind)) != 0;

    /// <summary>Parses "mnt" or "pid_for_children" (as in JSON and /proc/&lt;pid&gt;/ns).</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out NamespaceKind kind)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (!name.Equals(Names[i], StringComparison.OrdinalIgnoreCase)) continue;
            kind = (NamespaceKind)i;
            return true;
        }
        kind = default;
        return false;
    }
}
