namespace Forkline.Gateway.HostTree;

/// <summary>
/// A set that remembers only its most recent <c>capacity</c> items: adding past the bound forgets the
/// oldest. Used for de-duplication memory that must stay bounded however long a host runs.
/// </summary>
public sealed class RecentSet<T>(int capacity) where T : notnull
{
    private readonly HashSet<T> _items = new(Math.Min(capacity, 4096));
    private readonly Queue<T> _order = new(Math.Min(capacity, 4096));

    public int Count => _items.Count;

    public int Capacity { get; } = capacity > 0
        ? capacity
        : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a recent-items set needs room for at least one item");

    public bool Contains(T item) => _items.Contains(item);

    /// <summary>False when the item was already remembered.</summary>
    public bool Add(T item)
    {
        if (!_items.Add(item)) return false;
        // The oldest goes first, so the queue never holds more than Capacity (one more would double its array).
        if (_order.Count == Capacity) _items.Remove(_order.Dequeue());
        _order.Enqueue(item);
        return true;
    }

    /// <summary>Oldest first, so adding them in this order rebuilds the same set.</summary>
    public IEnumerable<T> InOrder => _order;
}
