using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.Queries;

/// <summary>How far a live stream may fall behind its reader: in events, and in bytes of those events as they came (their encoded size).</summary>
public readonly record struct StreamBacklog(int Events, long Bytes)
{
    public static StreamBacklog Default => new(SubscriberQueue.DefaultCapacity, SubscriberQueue.DefaultMaxBytes);
}

/// <summary>
/// One live stream's own bounded queue between the hub, which offers it every event that passes the
/// subscriber's field filters and never waits, and the subscriber's reader, which checks the binary
/// pattern on its own task. When the reader falls <see cref="StreamBacklog.Events"/> events or
/// <see cref="StreamBacklog.Bytes"/> bytes behind, further events are dropped for this subscriber only
/// and counted; the reader's next item says how many it missed.
/// </summary>
/// <remarks>
/// The byte bound is what bounds a stalled stream's memory: 10,000 events with long argument lists held
/// about 70 MB. It counts each event's encoded size, which the hub has at hand; the event as objects takes a
/// small multiple of that. An event larger than the whole bound still gets into an empty queue, so that
/// no event is too large ever to reach a reader that keeps up.
/// </remarks>
public sealed class SubscriberQueue
{
    public const int DefaultCapacity = 10_000;

    /// <summary>8 MiB: ten thousand events of ~800 bytes, more than most; long argument lists reach this bound first.</summary>
    public const long DefaultMaxBytes = 8L * 1024 * 1024;

    private readonly Channel<Queued> _channel;
    private readonly long _maxBytes;

    // Bytes of the queued events: the hub (the one writer) adds before it writes, the reader takes off what it read.
    private long _bytes;
    private long _missed;

    public SubscriberQueue(StreamBacklog backlog)
    {
        // Wait, not DropWrite: with Wait a full queue makes TryWrite return false, so every drop is seen and counted.
        _channel = Channel.CreateBounded<Queued>(new BoundedChannelOptions(backlog.Events)
        {
            FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true,
        });
        _maxBytes = backlog.Bytes;
        Events = new EventReader(this);
    }

    /// <summary>The queued events, filtered by every field but the binary pattern.</summary>
    public ChannelReader<EnrichedEvent> Events { get; }

    /// <summary>False when the queue was full, by events or by bytes, and the event was dropped for this subscriber.</summary>
    /// <param name="bytes">The event's encoded size: what the byte bound counts.</param>
    public bool Offer(EnrichedEvent enriched, int bytes)
    {
        var queued = Interlocked.Add(ref _bytes, bytes);
        if ((queued == bytes || queued <= _maxBytes) && _channel.Writer.TryWrite(new Queued(enriched, bytes))) return true;
        Interlocked.Add(ref _bytes, -bytes);
        Interlocked.Increment(ref _missed);
        return false;
    }

    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>The events that pass <paramref name="filter"/>, each preceded by a count of those missed since the last item.</summary>
    public async IAsyncEnumerable<StreamItem> ReadAllAsync(LiveEventFilter filter, [EnumeratorCancellation] CancellationToken ct)
    {
        var reader = Events;
        while (await reader.WaitToReadAsync(ct))
        {
            while (reader.TryRead(out var enriched))
            {
                var missed = Interlocked.Exchange(ref _missed, 0);
                if (missed > 0) yield return StreamItem.MissedEvents(missed);
                if (filter.MatchesBinary(enriched)) yield return StreamItem.Of(enriched);
            }
        }
        var missedAtEnd = Interlocked.Exchange(ref _missed, 0);
        if (missedAtEnd > 0) yield return StreamItem.MissedEvents(missedAtEnd);
    }

    private readonly record struct Queued(EnrichedEvent Event, int Bytes);

    /// <summary>The queue's events as its reader takes them: each taken gives its bytes back.</summary>
    private sealed class EventReader(SubscriberQueue queue) : ChannelReader<EnrichedEvent>
    {
        private readonly ChannelReader<Queued> _queued = queue._channel.Reader;

        public override Task Completion => _queued.Completion;

        public override bool CanCount => true;

        public override int Count => _queued.Count;

        public override bool CanPeek => true;

        public override bool TryRead([MaybeNullWhen(false)] out EnrichedEvent item)
        {
            if (!_queued.TryRead(out var queued))
            {
                item = null;
                return false;
            }
            Interlocked.Add(ref queue._bytes, -queued.Bytes);
            item = queued.Event;
            return true;
        }

        public override bool TryPeek([MaybeNullWhen(false)] out EnrichedEvent item)
        {
            var found = _queued.TryPeek(out var queued);
            item = queued.Event;
            return found;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => _queued.WaitToReadAsync(cancellationToken);
    }
}
