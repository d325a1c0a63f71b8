using System.Collections.Concurrent;
using Forkline.Contracts.Events;

namespace Forkline.Kernel.Tests;

/// <summary>Keeps every event the collector delivers, for the test thread to wait on and inspect.</summary>
internal sealed class CollectingSink : IKernelEventSink
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private readonly ConcurrentQueue<KernelEvent> _events = new();

    public void OnEvent(KernelEvent kernelEvent) => _events.Enqueue(kernelEvent);

    public List<KernelEvent> Snapshot() => [.. _events];

    /// <summary>The first event matching, waiting for it up to timeout; fails the test naming what was awaited.</summary>
    public async Task<TEvent> WaitFor<TEvent>(Func<TEvent, bool> match, string what, TimeSpan timeout) where TEvent : KernelEvent
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var kernelEvent in _events)
                if (kernelEvent is TEvent typed && match(typed)) return typed;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no {what} among {_events.Count} events after {timeout.TotalSeconds} s");
            await Task.Delay(PollInterval);
        }
    }
}
