using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Api;

namespace Forkline.Gateway.Tests;

public sealed class SubscriberQueueTests
{
    private static readonly ExecId ParentId = new(SampleProcesses.Host, 1_000, 1);

    private static EnrichedExec Exec(int pid, string binary) => SampleProcesses.Exec(new ExecId(SampleProcesses.Host, (ulong)(10_000 + pid), pid), ParentId, binary);

    private const int Capacity = 300;

    // Events of this encoded size fill the byte bound below long before the event bound.
    private const int EventBytes = 1_000;
    private const long ByteBound = 20 * EventBytes;

    private static readonly LiveEventFilter Everything = new(new EventStreamFilter());

    [Fact]
    public async Task A_reader_that_fell_behind_is_told_how_many_events_it_missed_then_gets_the_rest()
    {
        var queue = new SubscriberQueue(new StreamBacklog(Capacity, long.MaxValue));
        var offered = Capacity + 25;
        var accepted = 0;
        for (var i = 0; i < offered; i++) accepted += queue.Offer(Exec(i + 2, "/bin/true"), EventBytes) ? 1 : 0;
        queue.Complete();

        var items = new List<StreamItem>();
        await foreach (var item in queue.ReadAllAsync(Everything, CancellationToken.None)) items.Add(item);

        Assert.Equal(Capacity, accepted);
        Assert.Equal(StreamItem.MissedEvents(25), items[0]);
        Assert.Equal(Capacity, items.Count(item => item.Event is not null));
        Assert.Single(items, item => item.Event is null);
    }

    [Fact]
    public async Task The_binary_pattern_is_checked_by_the_reader_and_a_pattern_that_backtracks_exponentially_elsewhere_runs_in_linear_time()
    {
        var queue = new SubscriberQueue(StreamBacklog.Default);
        // (a+)+$ against a long run of a's ending in '!' takes a backtracking engine 2^n steps.
        var hostile = "/tmp/" + new string('a', 50_000) + "!";
        queue.Offer(Exec(2, hostile), hostile.Length);
        queue.Offer(Exec(3, "/tmp/aaaa"), EventBytes);
        queue.Complete();

        var matched = new List<string>();
        await foreach (var item in queue.ReadAllAsync(new LiveEventFilter(new EventStreamFilter(BinaryRegex: "(a+)+$")), CancellationToken.None))
            matched.Add(item.Event!.Process.Binary);

        Assert.Equal(["/tmp/aaaa"], matched);
    }

    [Fact]
    public async Task A_reader_that_fell_behind_by_bytes_is_told_how_many_events_it_missed_then_gets_the_rest()
    {
        var queue = new SubscriberQueue(new StreamBacklog(Capacity, ByteBound));
        var accepted = 0;
        for (var i = 0; i < 25; i++) accepted += queue.Offer(Exec(i + 2, "/bin/true"), EventBytes) ? 1 : 0;
        queue.Complete();

        var items = new List<StreamItem>();
        await foreach (var item in queue.ReadAllAsync(Everything, CancellationToken.None)) items.Add(item);

        Assert.Equal(20, accepted);
        Assert.Equal(StreamItem.MissedEvents(5), items[0]);
        Assert.Equal(20, items.Count(item => item.Event is not null));
    }

    [Fact]
    public void Events_read_give_their_bytes_back_so_a_reader_that_keeps_up_misses_nothing()
    {
        var queue = new SubscriberQueue(new StreamBacklog(Capacity, ByteBound));
        for (var i = 0; i < 10 * Capacity; i++)
        {
            Assert.True(queue.Offer(Exec(i + 2, "/bin/true"), EventBytes), $"event {i} was dropped for a reader that read every event before it");
            Assert.True(queue.Events.TryRead(out var read));
            Assert.Equal(i + 2, read.Process.Pid);
        }
        Assert.False(queue.Events.TryPeek(out _));
    }

    [Fact]
    public void An_event_larger_than_the_byte_bound_reaches_a_queue_with_nothing_queued_only()
    {
        var queue = new SubscriberQueue(new StreamBacklog(Capacity, ByteBound));

        Assert.True(queue.Offer(Exec(2, "/bin/huge"), (int)ByteBound * 3));
        Assert.False(queue.Offer(Exec(3, "/bin/true"), EventBytes));
        Assert.True(queue.Events.TryRead(out var huge));
        Assert.Equal("/bin/huge", huge.Process.Binary);
        Assert.True(queue.Offer(Exec(4, "/bin/true"), EventBytes));
    }

    [Fact]
    public void Field_filters_are_for_the_hub_and_the_binary_pattern_for_the_reader()
    {
        var filter = new LiveEventFilter(new EventStreamFilter(Pid: 7, BinaryRegex: "^/bin/"));

        Assert.True(filter.MatchesFields(Exec(7, "/usr/bin/x")));
        Assert.False(filter.MatchesBinary(Exec(7, "/usr/bin/x")));
        Assert.False(filter.MatchesFields(Exec(8, "/bin/x")));
        Assert.True(filter.Matches(Exec(7, "/bin/x")));
    }
}
