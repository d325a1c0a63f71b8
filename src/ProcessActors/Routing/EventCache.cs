using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.ProcessActors.Routing;

/// <summary>An event waiting for a process image; Since is when it first arrived (Environment.TickCount64).</summary>
internal readonly record struct WaitingEvent(KernelEvent Event, long Since);

/// <summary>
/// The out-of-order cache: events whose process, or whose parent, is not known yet, indexed by the key
/// they wait for and kept in arrival order. Bounded by count here; the router ages them out.
/// </summary>
internal sealed class EventCache(int capacity)
{
    private readonly Queue<Entry> _arrivals = new();
    private readonly Dictionary<ProcessKey, List<Entry>> _byMissingKey = [];

    public int Count { get; private set; }

    /// <summary>Adds an event; when the cache is full the oldest waiting one comes out as evicted (true).</summary>
    public bool Add(WaitingEvent waiting, ProcessKey missing, out WaitingEvent evicted)
    {
        evicted = default;
        var hasEvicted = Count >= capacity && TryEvictOldest(out evicted);
        var entry = new Entry(waiting, missing);
        _arrivals.Enqueue(entry);
        if (!_byMissingKey.TryGetValue(missing, out var entries))
            _byMissingKey[missing] = entries = [];
        entries.Add(entry);
        Count++;
        return hasEvicted;
    }

    /// <summary>The events that waited for this key, in arrival order (null when none).</summary>
    public List<WaitingEvent>? TakeWaitingFor(ProcessKey key)
    {
        if (!_byMissingKey.Remove(key, out var entries)) return null;
        var taken = new List<WaitingEvent>(entries.Count);
        foreach (var entry in entries)
        {
            entry.Taken = true;
            taken.Add(entry.Waiting);
        }
        Count -= entries.Count;
        return taken;
    }

    /// <summary>Every waiting event, in arrival order; the cache is empty afterwards.</summary>
    public List<WaitingEvent> TakeAll()
    {
        var taken = new List<WaitingEvent>(Count);
        while (_arrivals.TryDequeue(out var entry))
            if (!entry.Taken) taken.Add(entry.Waiting);
        _byMissingKey.Clear();
        Count = 0;
        return taken;
    }

    private bool TryEvictOldest(out WaitingEvent evicted)
    {
        // Entries taken by key stay in the arrival queue until they reach its head.
        while (_arrivals.TryDequeue(out var entry))
        {
            if (entry.Taken) continue;
            var entries = _byMissingKey[entry.Missing];
            entries.Remove(entry);
            if (entries.Count == 0) _byMissingKey.Remove(entry.Missing);
            Count--;
            evicted = entry.Waiting;
            return true;
        }
        evicted = default;
        return false;
    }

    private sealed class Entry(WaitingEvent waiting, ProcessKey missing)
    {
        public WaitingEvent Waiting { get; } = waiting;
        public ProcessKey Missing { get; } = missing;
        public bool Taken { get; set; }
    }
}
