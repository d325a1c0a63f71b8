namespace Forkline.Contracts.Collections;

/// <summary>
/// Gives back the room a map, set, list or queue kept from its busiest moment. A .NET Dictionary, HashSet, List, Queue
/// or PriorityQueue never shrinks by itself, so one that once held 20,000 live processes (or a burst's
/// events, or its timers) would keep their slots for good. Called after removals: it trims only once a
/// quarter or less of the room is used, and to twice what is, so a size that goes up and down rebuilds
/// rarely (amortized constant work per removal).
/// </summary>
public static class SparseCapacity
{
    /// <summary>Below this many slots a map is left alone: the room is small and rebuilding it would be churn.</summary>
    public const int Floor = 1_024;

    public static void TrimWhenSparse<TKey, TValue>(this Dictionary<TKey, TValue> map) where TKey : notnull
    {
        if (map.Capacity > Floor && map.Count <= map.Capacity / 4) map.TrimExcess(Math.Max(map.Count * 2, Floor));
    }

    public static void TrimWhenSparse<T>(this HashSet<T> set)
    {
        if (set.Capacity > Floor && set.Count <= set.Capacity / 4) set.TrimExcess(Math.Max(set.Count * 2, Floor));
    }

    public static void TrimWhenSparse<T>(this List<T> list)
    {
        if (list.Capacity > Floor && list.Count <= list.Capacity / 4) list.Capacity = Math.Max(list.Count * 2, Floor);
    }

    public static void TrimWhenSparse<T>(this Queue<T> queue)
    {
        if (queue.Capacity > Floor && queue.Count <= queue.Capacity / 4) queue.TrimExcess(Math.Max(queue.Count * 2, Floor));
    }

    /// <summary>A priority queue trims to its count only, so it is given twice that again (two copies, once per burst).</summary>
    public static void TrimWhenSparse<TElement, TPriority>(this PriorityQueue<TElement, TPriority> queue)
    {
        if (queue.Capacity <= Floor || queue.Count > queue.Capacity / 4) return;
        queue.TrimExcess();
        queue.EnsureCapacity(Math.Max(queue.Count * 2, Floor));
    }
}
