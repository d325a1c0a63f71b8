using System.Text;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Containers;

/// <summary>
/// Reads a container id and pod UID out of the names container runtimes give cgroups, in the cgroup v2
/// hierarchy and in v1 controller hierarchies alike (the names are the same in both):
/// <c>system.slice/docker-&lt;id&gt;.scope</c>, <c>docker/&lt;id&gt;</c>, <c>kubepods/&lt;qos&gt;/pod&lt;uid&gt;/&lt;id&gt;</c>,
/// <c>kubepods-&lt;qos&gt;-pod&lt;uid_with_underscores&gt;.slice/cri-containerd-&lt;id&gt;.scope</c>, <c>crio-&lt;id&gt;.scope</c>,
/// <c>libpod-&lt;id&gt;.scope</c>. An id is 64 lowercase hex digits; anything else (a runtime's own
/// <c>crio-conmon-…</c> / <c>libpod-conmon-…</c> monitor, a systemd service) is no container.
/// </summary>
public static class ContainerCgroupNames
{
    private const int IdLength = 64;
    private const int PodUidLength = 36;
    private const int MaxNameLength = 255; // NAME_MAX

    private static readonly byte[][] RuntimePrefixes = ["docker-"u8.ToArray(), "cri-containerd-"u8.ToArray(), "crio-"u8.ToArray(), "libpod-"u8.ToArray()];

    /// <summary>The container of a cgroup named <paramref name="name"/> whose parent is named <paramref name="parent"/> (UTF-8), or null.</summary>
    public static ContainerIdentity? Parse(ReadOnlySpan<byte> name, ReadOnlySpan<byte> parent)
    {
        if (name.EndsWith(".scope"u8)) name = name[..^".scope".Length];
        foreach (var prefix in RuntimePrefixes)
        {
            if (!name.StartsWith(prefix)) continue;
            name = name[prefix.Length..];
            break;
        }
        if (name.Length != IdLength || !IsLowerHex(name)) return null;
        return new ContainerIdentity(Encoding.ASCII.GetString(name), PodUid(parent));
    }

    /// <summary>The container of a cgroup path as /proc/PID/cgroup lists it ("/kubepods/besteffort/pod…/…"), or null.</summary>
    public static ContainerIdentity? ParsePath(string path)
    {
        var trimmed = path.AsSpan().TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        var name = trimmed[(slash + 1)..];
        var above = slash > 0 ? trimmed[..slash] : default;
        var parent = above[(above.LastIndexOf('/') + 1)..];
        // Longer names than a cgroup name's limit are no runtime's.
        if (name.Length > MaxNameLength || parent.Length > MaxNameLength) return null;
        Span<byte> nameBytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(MaxNameLength)];
        Span<byte> parentBytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(MaxNameLength)];
        return Parse(nameBytes[..Encoding.UTF8.GetBytes(name, nameBytes)], parentBytes[..Encoding.UTF8.GetBytes(parent, parentBytes)]);
    }

    // cgroupfs driver: "pod<uid>"; systemd driver: "kubepods[-<qos>]-pod<uid, '-' written as '_'>.slice".
    private static string? PodUid(ReadOnlySpan<byte> parent)
    {
        ReadOnlySpan<byte> uid;
        if (parent.StartsWith("pod"u8)) uid = parent[3..];
        else if (parent.StartsWith("kubepods"u8) && parent.EndsWith(".slice"u8))
        {
            var stem = parent[..^".slice".Length];
            var pod = stem.LastIndexOf("-pod"u8);
            if (pod < 0) return null;
            uid = stem[(pod + "-pod".Length)..];
        }
        else return null;
        if (uid.Length != PodUidLength) return null;
        Span<char> text = stackalloc char[PodUidLength];
        for (var i = 0; i < PodUidLength; i++)
        {
            var c = (char)uid[i];
            var dash = i is 8 or 13 or 18 or 23;
            if (dash && c is '-' or '_') text[i] = '-';
            else if (!dash && char.IsAsciiHexDigitLower(c)) text[i] = c;
            else return null;
        }
        return new string(text);
    }

    private static bool IsLowerHex(ReadOnlySpan<byte> text)
    {
        foreach (var c in text)
            if (!char.IsAsciiHexDigitLower((char)c)) return false;
        return true;
    }
}
