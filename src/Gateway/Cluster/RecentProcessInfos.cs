using System.Runtime.CompilerServices;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;

namespace Forkline.Gateway.Cluster;

/// <summary>
/// The wire forms of the process snapshots converted last, found by reference. The process actors
/// share one immutable snapshot per process image: every event of every child of a parent carries the
/// same parent snapshot, every hook event of a process the same process snapshot. Converting each once
/// instead of per event saves a ProcessInfo and its nested messages (exec ids, credentials,
/// capabilities, namespaces, arguments) each time. Protobuf messages are
/// mutable, but a WireEvent is never changed once built, so several can share one ProcessInfo.
/// </summary>
/// <remarks>
/// A fixed number of slots, so it holds at most that many snapshots alive. Safe for concurrent
/// callers: a slot is one immutable entry read and replaced whole; a race only costs a conversion.
/// </remarks>
public sealed class RecentProcessInfos
{
    private sealed record Entry(ProcessSnapshot Snapshot, ProcessInfo Info);

    private readonly Entry?[] _slots;

    /// <param name="slots">A power of two.</param>
    public RecentProcessInfos(int slots = 256)
    {
        if (slots < 1 || (slots & (slots - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(slots), slots, "the slot count must be a power of two");
        _slots = new Entry?[slots];
    }

    public ProcessInfo WireFormOf(ProcessSnapshot snapshot)
    {
        var index = RuntimeHelpers.GetHashCode(snapshot) & (_slots.Length - 1);
        var entry = Volatile.Read(ref _slots[index]);
        if (entry is not null && ReferenceEquals(entry.Snapshot, snapshot)) return entry.Info;
        var info = WireConverter.ToWire(snapshot);
        Volatile.Write(ref _slots[index], new Entry(snapshot, info));
        return info;
    }
}
