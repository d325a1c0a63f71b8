using Forkline.Contracts.Identity;

namespace Forkline.Gateway.HostTree;

/// <summary>An image known to have ended (its exit applied), and when it started.</summary>
public readonly record struct EndedImage(ExecId Image, DateTime StartTime);

/// <summary>
/// The latest ended image of each of the pids whose images ended most recently (at most <c>capacity</c>
/// remembered). An image of a pid that started before a later image of the same pid ended cannot be live
/// (one image per pid runs at a time), so a start stored after such a later image's exit (a clone published
/// after its own exec and exit, or a batch resent after a gateway restart) is replaced, not live: without
/// this memory the tree would hold it live forever once the later image is pruned.
/// </summary>
public sealed class LatestEndedImages(int capacity)
{
    private readonly Dictionary<int, EndedImage> _byPid = new(Math.Min(capacity, 4096));
    private readonly Queue<EndedImage> _order = new(Math.Min(capacity, 4096));

    public int Capacity { get; } = capacity > 0
        ? capacity
        : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "the ended-images memory needs room for at least one pid");

    public int Count => _byPid.Count;

    public bool TryGet(int pid, out EndedImage image) => _byPid.TryGetValue(pid, out image);

    /// <summary>Remembers the image unless a later image of its pid is remembered; past the bound the oldest noted goes.</summary>
    public void Note(EndedImage ended)
    {
        var pid = ended.Image.Pid;
        if (_byPid.TryGetValue(pid, out var known) && known.Image.StartKtime >= ended.Image.StartKtime) return;
        if (_order.Count == Capacity)
        {
            var oldest = _order.Dequeue();
            // A later image of that pid, noted since, stays.
            if (_byPid.TryGetValue(oldest.Image.Pid, out var current) && current == oldest) _byPid.Remove(oldest.Image.Pid);
        }
        _byPid[pid] = ended;
        _order.Enqueue(ended);
    }

    /// <summary>Oldest noted first, so noting them in this order rebuilds the same memory.</summary>
    public IEnumerable<EndedImage> InOrder => _order;
}
