using Forkline.Contracts.Accounting;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;

namespace Forkline.Gateway.Tests.Accounting;

public sealed class HostOutboxCountsTests
{
    private static readonly DateTime Now = DateTime.UtcNow;

    [Fact]
    public void Every_event_the_outbox_received_is_buffered_acknowledged_or_dropped_and_acks_split_by_kind()
    {
        var outbox = new HostOutbox("h", "producer", new ForwarderSettings(BatchSize: 2, MaxBufferedEvents: 4, MaxInFlightBatches: 2));
        outbox.Enqueue(Event(WireEventKind.Exec));
        outbox.Enqueue(Event(WireEventKind.Hook));
        outbox.Enqueue(Event(WireEventKind.Exit));
        outbox.CountDroppedFull();
        var batches = outbox.TakeSendable(flushPartial: true, Now);

        Assert.Equal(2, outbox.Acknowledge(batches[0].Seq));
        Assert.Equal(0, outbox.Acknowledge(batches[0].Seq));
        Assert.Equal(new ForwardCounts(Received: 4, DroppedFull: 1, DroppedShutdown: 0, Buffered: 1, AcknowledgedLifecycle: 1, AcknowledgedHooks: 1), outbox.Counts);

        Assert.Single(outbox.DropAllAtShutdown());
        Assert.Equal(new ForwardCounts(4, 1, 1, 0, 1, 1), outbox.Counts);
    }

    private static WireEvent Event(WireEventKind kind) => new() { Kind = kind, Host = "h", EventId = Guid.NewGuid().ToString("N") };
}
