using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.Queries;

/// <summary>
/// One live stream's own bounded queue between the hub, which offers it every event that passes the
/// subscriber's field filters and never waits, and the subscriber's reader, which checks the binary
/// pattern on its own task. When the reader falls <c>capacity</c> events behind, further events
/// are dropped for this subscriber only and counted; the reader's next item says how many it missed.
/// </summary>
public sealed class SubscriberQueue(int capacity)
{
    public const int DefaultCapacity = 10_000;

    // Wait, not DropWrite: with Wait a full queue makes TryWrite return false, so every drop is seen and counted.
    private readonly Channel<EnrichedEvent> _channel = Channel.CreateBounded<EnrichedEvent>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true,
    });

    private long _missed;

    /// <summary>The queued events, filtered by every field but the binary pattern.</summary>
    public ChannelReader<EnrichedEvent> Events => _channel.Reader;

    /// <summary>False when the queue was full and the event was dropped for this subscriber.</summary>
    public bool Offer(EnrichedEvent enriched)
    {
        if (_channel.Writer.TryWrite(enriched)) return true;
        Interlocked.Increment(ref _missed);
        return false;
    }

    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>The events that pass <paramref name="filter"/>, each preceded by a count of those missed since the last item.</summary>
    public async IAsyncEnumerable<StreamItem> ReadAllAsync(LiveEventFilter filter, [EnumeratorCancellation] CancellationToken ct)
    {
        var reader = _channel.Reader;
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
}
