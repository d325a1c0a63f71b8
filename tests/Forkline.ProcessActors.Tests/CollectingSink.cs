using System.Collections.Concurrent;
using Forkline.Contracts.Snapshots;

namespace Forkline.ProcessActors.Tests;

/// <summary>Keeps every enriched event; read it after ProcessPipeline.FlushAsync.</summary>
internal sealed class CollectingSink : IEnrichedEventSink
{
    private readonly ConcurrentQueue<EnrichedEvent> _events = new();

    public IReadOnlyList<EnrichedEvent> Events => [.. _events];

    public void OnEnriched(EnrichedEvent enriched) => _events.Enqueue(enriched);

    public IReadOnlyList<T> Of<T>() where T : EnrichedEvent => [.. _events.OfType<T>()];

    public T Single<T>() where T : EnrichedEvent => Assert.Single(Of<T>());
}
