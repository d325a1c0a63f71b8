namespace Forkline.Contracts.Collections;

/// <summary>
/// Unbounded multi-producer single-consumer queue of ring segments (each a bounded queue with a sequence
/// number per slot). Enqueue and dequeue are lock-free and allocate nothing while the ring has room; a full
/// ring is frozen and followed by one twice its size (at most <see cref="MaxSegmentLength"/>), which the
/// consumer moves to once the old ring is empty. A drained ring is let go, so after a burst the queue keeps
/// one segment of at most <see cref="MaxSegmentLength"/> slots, where a ConcurrentQueue keeps for good the
/// largest segment the burst made it grow to (up to a million slots). Not sealed: the process actors'
/// mailbox queue is one (no second object per actor).
/// </summary>
public class CompactQueue<T>
{
    public const int MaxSegmentLength = 1024;

    // Consumer side only.
    private Segment _head;

    // Where producers enqueue; moves forward when a segment fills.
    private Segment _tail;

    /// <param name="initialSegmentLength">A power of two, at most <see cref="MaxSegmentLength"/>.</param>
    public CompactQueue(int initialSegmentLength)
    {
        if (initialSegmentLength < 1 || initialSegmentLength > MaxSegmentLength || (initialSegmentLength & (initialSegmentLength - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(initialSegmentLength), initialSegmentLength, $"a power of two from 1 to {MaxSegmentLength}");
        _head = new Segment(initialSegmentLength);
        _tail = _head;
    }

    public bool IsEmpty
    {
        get
        {
            for (var segment = Volatile.Read(ref _head); segment is not null; segment = segment.Next)
                if (!segment.IsEmpty) return false;
            return true;
        }
    }

    public int Count
    {
        get
        {
            var count = 0;
            for (var segment = Volatile.Read(ref _head); segment is not null; segment = segment.Next)
                count += segment.Count;
            return count;
        }
    }

    public void Enqueue(T item)
    {
        while (true)
        {
            var tail = Volatile.Read(ref _tail);
            if (tail.TryEnqueue(item)) return;
            // Full or frozen: make sure a next segment exists, freeze this one, move the tail on, retry there.
            if (tail.Next is null)
                Interlocked.CompareExchange(ref tail.NextField, new Segment(Math.Min(tail.Length * 2, MaxSegmentLength)), null);
            tail.Freeze();
            Interlocked.CompareExchange(ref _tail, tail.Next!, tail);
        }
    }

    /// <summary>Called by one consumer at a time.</summary>
    public bool TryDequeue(out T item)
    {
        while (true)
        {
            var head = _head;
            if (head.TryDequeue(out item)) return true;
            if (!head.IsFrozen) return false;
            // Frozen: items reserved before the freeze are counted now; take them before leaving the segment.
            if (head.TryDequeue(out item)) return true;
            Volatile.Write(ref _head, head.Next!);
        }
    }

    private sealed class Segment
    {
        private const int Open = 0;
        private const int Freezing = 1;
        private const int Frozen = 2;

        private readonly Slot[] _slots;
        private readonly int _mask;

        // Added to the tail on freeze: every later enqueue sees a slot "from the future" and fails.
        private readonly int _freezeOffset;
        private int _head;
        private int _tail;
        private int _freezeState;

        // Set once, by CompareExchange in Enqueue, before the segment is frozen.
        public Segment? NextField;

        public Segment(int length)
        {
            _slots = new Slot[length];
            _mask = length - 1;
            _freezeOffset = length * 2;
            for (var i = 0; i < length; i++) _slots[i].Sequence = i;
        }

        public Segment? Next => Volatile.Read(ref NextField);

        public int Length => _slots.Length;

        public bool IsFrozen => Volatile.Read(ref _freezeState) == Frozen;

        public bool IsEmpty => Reserved(Volatile.Read(ref _head)) <= 0;

        public int Count => Math.Max(0, Reserved(Volatile.Read(ref _head)));

        public bool TryEnqueue(T item)
        {
            while (true)
            {
                var tail = Volatile.Read(ref _tail);
                ref var slot = ref _slots[tail & _mask];
                var difference = Volatile.Read(ref slot.Sequence) - tail;
                if (difference == 0)
                {
                    if (Interlocked.CompareExchange(ref _tail, tail + 1, tail) != tail) continue;
                    slot.Item = item;
                    Volatile.Write(ref slot.Sequence, tail + 1);
                    return true;
                }
                // Negative: the ring is full, or frozen. Positive: another producer moved the tail; retry.
                if (difference < 0) return false;
            }
        }

        /// <summary>Single consumer: the head needs no compare-and-swap.</summary>
        public bool TryDequeue(out T item)
        {
            var spinner = new SpinWait();
            while (true)
            {
                var head = _head;
                ref var slot = ref _slots[head & _mask];
                if (Volatile.Read(ref slot.Sequence) - (head + 1) == 0)
                {
                    item = slot.Item;
                    slot.Item = default!;
                    Volatile.Write(ref slot.Sequence, head + _slots.Length);
                    Volatile.Write(ref _head, head + 1);
                    return true;
                }
                if (Reserved(head) <= 0)
                {
                    item = default!;
                    return false;
                }
                // A producer reserved this slot and is about to publish it.
                spinner.SpinOnce();
            }
        }

        public void Freeze()
        {
            if (Interlocked.CompareExchange(ref _freezeState, Freezing, Open) != Open) return;
            Interlocked.Add(ref _tail, _freezeOffset);
            Volatile.Write(ref _freezeState, Frozen);
        }

        /// <summary>Slots taken by producers and not yet dequeued (published or about to be).</summary>
        private int Reserved(int head)
        {
            var state = Volatile.Read(ref _freezeState);
            var tail = Volatile.Read(ref _tail);
            // While freezing, the tail may or may not include the offset yet; count as reserved until frozen.
            return state == Frozen ? tail - _freezeOffset - head : state == Freezing ? 1 : tail - head;
        }
    }

    private struct Slot
    {
        public T Item;
        public int Sequence;
    }
}
