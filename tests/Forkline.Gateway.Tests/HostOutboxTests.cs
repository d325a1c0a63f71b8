using Forkline.Contracts.Accounting;
using Forkline.Contracts.Wire;
using Forkline.Forwarding;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Tests.Support;
using Google.Protobuf;

namespace Forkline.Gateway.Tests;

public sealed class HostOutboxTests
{
    private static readonly DateTime Now = new(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private readonly SyntheticHost _host = new("node-a");

    [Fact]
    public void A_batch_closes_before_its_serialized_size_passes_MaxBatchBytes()
    {
        var events = Execs(40);
        var maxBytes = 10 * EventBatchBytes(events[0]);
        var outbox = new HostOutbox(_host.Node, "producer", new ForwarderSettings { BatchSize = 1_000, MaxBatchBytes = maxBytes, MaxInFlightBatches = 100 });

        foreach (var wire in events) outbox.Enqueue(wire, Now);
        Assert.True(outbox.HasFullBatch);
        var batches = outbox.TakeSendable(flushPartial: true, Now);

        Assert.All(batches, batch => Assert.InRange(batch.Events.Sum(EventBatchBytes), 1, maxBytes));
        Assert.True(batches.Count >= 4, $"{batches.Count} batches of at most {maxBytes} bytes for {events.Count} events");
        Assert.Equal(events.Select(e => e.EventId), batches.SelectMany(b => b.Events).Select(e => e.EventId));
    }

    [Fact]
    public void An_event_larger_than_MaxBatchBytes_travels_alone()
    {
        var events = Execs(3);
        var outbox = new HostOutbox(_host.Node, "producer", new ForwarderSettings { BatchSize = 512, MaxBatchBytes = 1, MaxInFlightBatches = 10 });

        foreach (var wire in events) outbox.Enqueue(wire, Now);
        var batches = outbox.TakeSendable(flushPartial: false, Now);

        Assert.Equal([1, 1, 1], batches.Select(b => b.Events.Count));
        Assert.Equal(3, outbox.Buffered);
    }

    [Fact]
    public void Fewer_events_than_a_batch_by_count_and_by_bytes_wait_for_the_flush()
    {
        var outbox = new HostOutbox(_host.Node, "producer", new ForwarderSettings { BatchSize = 512 });

        foreach (var wire in Execs(5)) outbox.Enqueue(wire, Now);

        Assert.False(outbox.HasFullBatch);
        Assert.Empty(outbox.TakeSendable(flushPartial: false, Now));
        Assert.Equal(5, Assert.Single(outbox.TakeSendable(flushPartial: true, Now)).Events.Count);
    }

    [Fact]
    public void Waiting_events_linger_from_the_first_one_queued_and_again_after_the_outbox_emptied()
    {
        var linger = TimeSpan.FromMilliseconds(200);
        var outbox = new HostOutbox(_host.Node, "producer", new ForwarderSettings { BatchSize = 512, Linger = linger });
        var events = Execs(3);

        Assert.False(outbox.LingerOver(Now));
        outbox.Enqueue(events[0], Now);
        outbox.Enqueue(events[1], Now.AddMilliseconds(150));
        Assert.False(outbox.LingerOver(Now.AddMilliseconds(199)));
        Assert.Equal(TimeSpan.FromMilliseconds(49), outbox.LingerLeft(Now.AddMilliseconds(151)));
        Assert.True(outbox.LingerOver(Now.Add(linger)));
        Assert.Equal(TimeSpan.Zero, outbox.LingerLeft(Now.AddMilliseconds(250)));
        Assert.Equal(2, Assert.Single(outbox.TakeSendable(flushPartial: true, Now.Add(linger))).Events.Count);

        outbox.Enqueue(events[2], Now.AddSeconds(1));
        Assert.False(outbox.LingerOver(Now.AddSeconds(1).AddMilliseconds(199)));
        Assert.True(outbox.LingerOver(Now.AddSeconds(1).Add(linger)));
    }

    private List<WireEvent> Execs(int count)
    {
        var init = _host.NewProcess(1, null, "/sbin/init");
        var events = new List<WireEvent>(count);
        for (var i = 0; i < count; i++)
            events.Add(WireConverter.ToWire(_host.Exec(_host.NewProcess(100 + i, init, "/usr/bin/true", "--n", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), init)));
        return events;
    }

    [Fact]
    public void Every_event_the_outbox_received_is_buffered_acknowledged_or_dropped_and_acks_split_by_kind_with_the_times_dropped()
    {
        var outbox = new HostOutbox("h", "producer", new ForwarderSettings { BatchSize = 2, MaxBufferedEvents = 4, MaxInFlightBatches = 2 });
        outbox.Enqueue(EventOf(WireEventKind.Exec, Now.AddSeconds(1)), Now);
        outbox.Enqueue(EventOf(WireEventKind.Hook, Now.AddSeconds(2)), Now);
        outbox.Enqueue(EventOf(WireEventKind.Exit, Now.AddSeconds(3)), Now);
        outbox.CountDroppedFull(EventOf(WireEventKind.Exec, Now.AddSeconds(4)));
        var batches = outbox.TakeSendable(flushPartial: true, Now);

        Assert.Equal(2, outbox.Acknowledge(batches[0].Seq));
        Assert.Equal(0, outbox.Acknowledge(batches[0].Seq));
        Assert.Equal(new ForwardCounts(Received: 4, DroppedFull: 1, DroppedShutdown: 0, Buffered: 1, AcknowledgedLifecycle: 1, AcknowledgedHooks: 1,
            FirstDropped: Now.AddSeconds(4), LastDropped: Now.AddSeconds(4)), outbox.Counts);

        Assert.Single(outbox.DropAllAtShutdown());
        Assert.Equal(new ForwardCounts(4, 1, 1, 0, 1, 1, Now.AddSeconds(3), Now.AddSeconds(4)), outbox.Counts);
    }

    [Fact]
    public void A_deferred_batch_goes_again_at_once_unless_another_copy_of_it_is_still_at_the_gateway()
    {
        var settings = new ForwarderSettings { BatchSize = 1, AckTimeout = TimeSpan.FromSeconds(5) };
        var outbox = new HostOutbox("h", "producer", settings);
        outbox.Enqueue(EventOf(WireEventKind.Exec, Now), Now);
        var sent = Assert.Single(outbox.TakeSendable(flushPartial: true, Now));

        Assert.Same(sent, outbox.TakeDeferred(sent.Seq, Now.AddSeconds(1)));
        // Deferred again later: again at once, and the ack timeout counts from the new copy.
        Assert.Same(sent, outbox.TakeDeferred(sent.Seq, Now.AddSeconds(3)));
        Assert.Empty(outbox.TakeOverdue(Now.AddSeconds(7)));
        Assert.Same(sent, Assert.Single(outbox.TakeOverdue(Now.AddSeconds(8))));

        // Two copies at the gateway now (the deferred one and the overdue resend): the first deferral waits for the second.
        Assert.Null(outbox.TakeDeferred(sent.Seq, Now.AddSeconds(9)));
        Assert.Same(sent, outbox.TakeDeferred(sent.Seq, Now.AddSeconds(10)));

        // A new stream holds one copy of everything in flight, whatever the old one held.
        Assert.Single(outbox.TakeOverdue(Now.AddSeconds(30)));
        Assert.Single(outbox.TakeAllInFlight(Now.AddSeconds(31)));
        Assert.Same(sent, outbox.TakeDeferred(sent.Seq, Now.AddSeconds(32)));

        Assert.Equal(1, outbox.Acknowledge(sent.Seq));
        Assert.Null(outbox.TakeDeferred(sent.Seq, Now.AddSeconds(33)));
        Assert.Null(outbox.TakeDeferred(sent.Seq + 1, Now.AddSeconds(33)));
    }

    private static WireEvent EventOf(WireEventKind kind, DateTime time) =>
        new() { Kind = kind, Host = "h", EventId = Guid.NewGuid().ToString("N"), TimeUnixTicks = WireConverter.ToUnixTicks(time) };

    /// <summary>What one event adds to a serialized batch: field tag, length prefix, message.</summary>
    private static int EventBatchBytes(WireEvent wire) => 1 + CodedOutputStream.ComputeMessageSize(wire);
}
