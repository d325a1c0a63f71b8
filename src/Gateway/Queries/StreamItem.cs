using System.Runtime.CompilerServices;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.Queries;

/// <summary>
/// One item of an event stream: an event, or (<see cref="Event"/> null) how many events this stream
/// missed because its reader fell behind and its queue was full (the stream goes on after it), or, in
/// a replay that asked for them, a gap: a time the host was not watched.
/// </summary>
public readonly record struct StreamItem(EnrichedEvent? Event, long Missed, HostGap? Gap = null)
{
    public static StreamItem Of(EnrichedEvent enriched) => new(enriched, 0);

    public static StreamItem MissedEvents(long count) => new(null, count);

    public static StreamItem Of(HostGap gap) => new(null, 0, gap);
}

public static class StreamItems
{
    /// <summary>A stream that cannot miss events (a replay reads at the caller's pace) as stream items.</summary>
    public static async IAsyncEnumerable<StreamItem> AsItems(this IAsyncEnumerable<EnrichedEvent> events, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var enriched in events.WithCancellation(ct)) yield return StreamItem.Of(enriched);
    }
}
