using Forkline.Collector.Decoding;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Containers;

/// <summary>
/// Container identity per cgroup of one hierarchy, so the names an exec record carries are parsed once
/// per cgroup, not once per exec. Keyed by the cgroup's kernfs id; the cached names are compared too, so
/// records whose ids are not the kernel's (encoded captures, synthetic sources) still resolve exactly.
/// Owned by the decoding thread.
/// </summary>
internal sealed class ContainerIdentityCache
{
    /// <summary>Cgroup ids are never reused, so entries of removed cgroups are dropped by starting over when full.</summary>
    private const int Capacity = 4096;

    private readonly Dictionary<ulong, Entry> _byCgroupId = [];

    public ContainerIdentity? Resolve(in FlCgroup cgroup)
    {
        var name = Terminated(cgroup.Name);
        if (name.IsEmpty) return null;
        var parent = Terminated(cgroup.Parent);
        if (_byCgroupId.TryGetValue(cgroup.Id, out var entry) && name.SequenceEqual(entry.Name) && parent.SequenceEqual(entry.Parent))
            return entry.Identity;
        if (_byCgroupId.Count >= Capacity) _byCgroupId.Clear();
        var identity = ContainerCgroupNames.Parse(name, parent);
        _byCgroupId[cgroup.Id] = new Entry(name.ToArray(), parent.ToArray(), identity);
        return identity;
    }

    private static ReadOnlySpan<byte> Terminated(in FlCgroupNameBytes bytes)
    {
        ReadOnlySpan<byte> span = bytes;
        var end = span.IndexOf((byte)0);
        return end < 0 ? span : span[..end];
    }

    private sealed record Entry(byte[] Name, byte[] Parent, ContainerIdentity? Identity);
}
