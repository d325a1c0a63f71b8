using System.Globalization;
using Akka.Actor;
using Forkline.Contracts.Collections;
using Forkline.ProcessActors.Process;

namespace Forkline.ProcessActors.Tests;

public sealed class CompactMessageQueueTests
{
    [Fact]
    public void Messages_come_out_in_order_across_segment_growth()
    {
        var queue = new CompactMessageQueue();
        for (var i = 0; i < 10_000; i++) queue.Enqueue(ActorRefs.Nobody, new Envelope(i, ActorRefs.NoSender));

        Assert.Equal(10_000, queue.Count);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(queue.TryDequeue(out var envelope));
            Assert.Equal(i, envelope.Message);
        }
        Assert.False(queue.TryDequeue(out _));
        Assert.False(queue.HasMessages);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_queue_of_any_item_drains_a_burst_in_order_past_its_largest_segment_and_then_works_on()
    {
        var queue = new CompactQueue<string>(32);
        Assert.True(queue.IsEmpty);
        for (var i = 0; i < 20_000; i++) queue.Enqueue(i.ToString(CultureInfo.InvariantCulture));

        Assert.Equal(20_000, queue.Count);
        for (var i = 0; i < 20_000; i++)
        {
            Assert.True(queue.TryDequeue(out var item));
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), item);
        }
        Assert.True(queue.IsEmpty);
        Assert.False(queue.TryDequeue(out _));
        queue.Enqueue("after");
        Assert.False(queue.IsEmpty);
        Assert.True(queue.TryDequeue(out var after));
        Assert.Equal("after", after);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompactQueue<string>(48));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompactQueue<string>(CompactQueue<string>.MaxSegmentLength * 2));
    }

    [Fact]
    public void Alternating_enqueue_and_dequeue_reuses_the_ring_and_keeps_order()
    {
        var queue = new CompactMessageQueue();
        var next = 0;
        for (var round = 0; round < 1_000; round++)
        {
            for (var i = 0; i < 3; i++) queue.Enqueue(ActorRefs.Nobody, new Envelope(round * 3 + i, ActorRefs.NoSender));
            for (var i = 0; i < 3; i++)
            {
                Assert.True(queue.TryDequeue(out var envelope));
                Assert.Equal(next++, envelope.Message);
            }
            Assert.False(queue.HasMessages);
        }
    }

    [Fact]
    public async Task Concurrent_producers_lose_nothing_and_each_keeps_its_order()
    {
        const int producers = 4;
        const int perProducer = 200_000;
        var queue = new CompactMessageQueue();
        var lastSeen = new int[producers];
        Array.Fill(lastSeen, -1);

        var producing = Task.WhenAll(Enumerable.Range(0, producers).Select(producer => Task.Run(() =>
        {
            for (var i = 0; i < perProducer; i++) queue.Enqueue(ActorRefs.Nobody, new Envelope((producer, i), ActorRefs.NoSender));
        })));
        var received = 0;
        while (true)
        {
            if (queue.TryDequeue(out var envelope))
            {
                var (producer, sequence) = ((int, int))envelope.Message;
                Assert.Equal(lastSeen[producer] + 1, sequence);
                lastSeen[producer] = sequence;
                received++;
            }
            else if (producing.IsCompleted && !queue.HasMessages)
            {
                break;
            }
        }
        await producing;

        Assert.Equal(producers * perProducer, received);
        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void Clean_up_hands_what_is_left_to_dead_letters()
    {
        var queue = new CompactMessageQueue();
        var deadLetters = new CompactMessageQueue();
        queue.Enqueue(ActorRefs.Nobody, new Envelope("a", ActorRefs.NoSender));
        queue.Enqueue(ActorRefs.Nobody, new Envelope("b", ActorRefs.NoSender));

        queue.CleanUp(ActorRefs.Nobody, deadLetters);

        Assert.False(queue.HasMessages);
        Assert.Equal(2, deadLetters.Count);
    }
}
