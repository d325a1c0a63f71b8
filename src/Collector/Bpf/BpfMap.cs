using Forkline.Collector.Native;

namespace Forkline.Collector.Bpf;

/// <summary>Typed element access to a loaded map through its fd.</summary>
internal readonly unsafe struct BpfMap(string name, int fd)
{
    public string Name { get; } = name;

    public int Fd { get; } = fd;

    /// <summary>Returns 0 or the negative errno (EEXIST with BPF_NOEXIST is an expected outcome).</summary>
    public int TryUpdate<TKey, TValue>(TKey key, TValue value, ulong flags)
        where TKey : unmanaged where TValue : unmanaged =>
        LibBpf.MapUpdateElement(Fd, &key, &value, flags);

    public void Update<TKey, TValue>(TKey key, TValue value)
        where TKey : unmanaged where TValue : unmanaged
    {
        var result = TryUpdate(key, value, LibBpf.MapAny);
        if (result < 0)
            throw new BpfException($"bpf_map_update_elem failed for map {Name}, key {key}: {Errno.Describe(result)} — run as root or grant CAP_BPF", result);
    }

    /// <summary>Reads one element; for per-CPU maps values must hold one slot per possible CPU.</summary>
    public void Lookup<TKey, TValue>(TKey key, Span<TValue> values)
        where TKey : unmanaged where TValue : unmanaged
    {
        int result;
        fixed (TValue* destination = values) result = LibBpf.MapLookupElement(Fd, &key, destination);
        if (result < 0)
            throw new BpfException($"bpf_map_lookup_elem failed for map {Name}, key {key}: {Errno.Describe(result)} — the map and the collector disagree; rebuild the object", result);
    }
}
