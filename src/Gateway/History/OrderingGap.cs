namespace Forkline.Gateway.History;

/// <summary>
/// A missing journal ordering the projection waits for: <paramref name="First"/> is the lowest ordering not
/// seen yet, first found missing at <paramref name="SeenAt"/>.
/// </summary>
/// <remarks>
/// Orderings are handed out when a row is inserted, not when it commits: on PostgreSQL a journal write can
/// commit after a later one, so a reader that moved past the hole would never see that write. A hole that
/// stays longer than the patience is a write that never committed (rolled back; SQLite's AUTOINCREMENT
/// never hands its number out again) and is passed, as Akka's own journal-sequence actor does after its
/// query-delay x max-tries.
/// </remarks>
public readonly record struct OrderingGap(long First, DateTime SeenAt)
{
    /// <summary>
    /// How many of <paramref name="orderings"/> (ascending, all above <paramref name="offset"/>) the projection
    /// may apply now: the unbroken run after the offset, continued past a hole only once <paramref name="known"/>
    /// has been missing for <paramref name="patience"/>. Also the hole the run stops at, if any (its first
    /// sighting kept from <paramref name="known"/>), and how many orderings were given up on.
    /// </summary>
    public static (int Applicable, OrderingGap? Waiting, long Skipped) Applicable(
        long offset, IReadOnlyList<long> orderings, OrderingGap? known, DateTime now, TimeSpan patience)
    {
        var expected = offset + 1;
        long skipped = 0;
        for (var i = 0; i < orderings.Count; i++)
        {
            var ordering = orderings[i];
            if (ordering < expected) throw new ArgumentException($"orderings must ascend above the offset {offset}: found {ordering} after {expected - 1}", nameof(orderings));
            if (ordering > expected)
            {
                var gap = known is { } seen && seen.First == expected ? seen : new OrderingGap(expected, now);
                if (now - gap.SeenAt < patience) return (i, gap, skipped);
                skipped += ordering - expected;
                known = null;
            }
            expected = ordering + 1;
        }
        return (orderings.Count, null, skipped);
    }
}
