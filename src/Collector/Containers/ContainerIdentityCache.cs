using Forkline.Collector.Decoding;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Containers;

/// <summary>
/// Container identity per cgroup of one hierarchy, so the names an exec record carries are parsed once
/// per cgroup, not once per exec. Keyed by the cgroup's kernfs id; the cached names are compared too, so
/// records whose ids are not the kernel's (encoded captures, synthetic sources) still resolve exactly.
/// With a <see cref="PodDirectory"/>, the identity carries its pod's metadata; an entry looks its pod up
/// again only after the directory published a new listing, and makes a new identity only when the pod
/// it finds differs. Owned by the decoding thread.
/// </summary>
internal sealed class ContainerIdentityCache(PodDirectory? pods = null)
{
    /// <summary>Cgroup ids are never reused, so entries of removed cgroups are dropped by starting over when full.</summary>
    private const int Capacity = 4096;

    private readonly Dictionary<ulong, Entry> _byCgroupId = [];

    public ContainerIdentity? Resolve(in FlCgroup cgroup)
    {
        var name = Terminated(cgroup.Name);
        if (name.IsEmpty) return null;
        var parent = Terminated(cgroup.Parent);
        if (!_byCgroupId.TryGetValue(cgroup.Id, out var entry) || !name.SequenceEqual(entry.Name) || !parent.SequenceEqual(entry.Parent))
        {
            if (_byCgroupId.Count >= Capacity) _byCgroupId.Clear();
            entry = new Entry(name.ToArray(), parent.ToArray(), ContainerCgroupNames.Parse(name, parent));
            _byCgroupId[cgroup.Id] = entry;
        }
        if (pods is not null && entry.Identity is not null) entry.Refresh(pods.Current);
        return entry.Identity;
    }

    private static ReadOnlySpan<byte> Terminated(in FlCgroupNameBytes bytes)
    {
        ReadOnlySpan<byte> span = bytes;
        var end = span.IndexOf((byte)0);
        return end < 0 ? span : span[..end];
    }

    private sealed class Entry(byte[] name, byte[] parent, ContainerIdentity? fromNames)
    {
        private PodDirectory.Listing? _seen;
        private ContainerIdentity? _identity = fromNames;

        private ContainerIdentity? FromNames { get; } = fromNames;

        public byte[] Name { get; } = name;
        public byte[] Parent { get; } = parent;

        /// <summary>What the names tell, with the pod last found for it.</summary>
        public ContainerIdentity? Identity => _identity;

        public void Refresh(PodDirectory.Listing listing)
        {
            if (ReferenceEquals(listing, _seen) || FromNames is not { } named) return;
            _seen = listing;
            var pod = listing.Find(named);
            if (!ReferenceEquals(pod, _identity?.Pod)) _identity = pod is null ? named : named with { Pod = pod };
        }
    }
}
