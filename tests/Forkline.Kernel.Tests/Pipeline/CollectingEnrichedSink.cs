using System.Collections.Concurrent;
using Forkline.Contracts.Snapshots;

namespace Forkline.Kernel.Tests.Pipeline;

/// <summary>Keeps every enriched event the process actors publish, for the test thread to wait on and inspect.</summary>
internal sealed class CollectingEnrichedSink : IEnrichedEventSink
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private readonly ConcurrentQueue<EnrichedEvent> _events = new();

    public void OnEnriched(EnrichedEvent enriched) => _events.Enqueue(enriched);

    public List<EnrichedEvent> Snapshot() => [.. _events];

    /// <summary>The first event matching, waiting for it up to timeout; fails the test naming what was awaited.</summary>
    public async Task<TEvent> WaitFor<TEvent>(Func<TEvent, bool> match, string what, TimeSpan timeout) where TEvent : EnrichedEvent
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var enriched in _events)
                if (enriched is TEvent typed && match(typed)) return typed;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no {what} among {_events.Count} enriched events after {timeout.TotalSeconds} s");
            await Task.Delay(PollInterval);
        }
    }
}
