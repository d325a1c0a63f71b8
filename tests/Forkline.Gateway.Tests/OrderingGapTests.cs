using Forkline.Gateway.History;

namespace Forkline.Gateway.Tests;

public sealed class OrderingGapTests
{
    private static readonly DateTime Start = new(2026, 12, 3, 12, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void An_unbroken_run_after_the_offset_is_applicable_whole()
    {
        var (applicable, waiting, skipped) = OrderingGap.Applicable(10, [11, 12, 13], known: null, Start, Patience);

        Assert.Equal(3, applicable);
        Assert.Null(waiting);
        Assert.Equal(0, skipped);
    }

    [Fact]
    public void A_missing_ordering_stops_the_run_and_is_remembered_from_its_first_sighting()
    {
        var first = OrderingGap.Applicable(10, [11, 13, 14], known: null, Start, Patience);
        Assert.Equal(1, first.Applicable);
        Assert.Equal(new OrderingGap(12, Start), first.Waiting);

        // Read again later from the new offset: the same hole keeps its first sighting, so the patience is not restarted.
        var again = OrderingGap.Applicable(11, [13, 14], first.Waiting, Start.AddSeconds(5), Patience);
        Assert.Equal(0, again.Applicable);
        Assert.Equal(new OrderingGap(12, Start), again.Waiting);
    }

    [Fact]
    public void A_write_that_commits_late_fills_the_hole_and_the_run_goes_on()
    {
        var waiting = new OrderingGap(12, Start);

        var (applicable, stillWaiting, skipped) = OrderingGap.Applicable(11, [12, 13, 14], waiting, Start.AddSeconds(1), Patience);

        Assert.Equal(3, applicable);
        Assert.Null(stillWaiting);
        Assert.Equal(0, skipped);
    }

    [Fact]
    public void A_hole_missing_past_the_patience_is_passed_and_counted_and_a_later_hole_is_waited_for_afresh()
    {
        var waiting = new OrderingGap(12, Start);
        var now = Start + Patience;

        var (applicable, next, skipped) = OrderingGap.Applicable(11, [15, 16, 18], waiting, now, Patience);

        Assert.Equal(2, applicable);
        Assert.Equal(3, skipped);
        Assert.Equal(new OrderingGap(17, now), next);
    }

    [Fact]
    public void Orderings_at_or_below_the_offset_are_refused()
    {
        Assert.Throws<ArgumentException>(() => OrderingGap.Applicable(10, [10, 11], known: null, Start, Patience));
    }
}
