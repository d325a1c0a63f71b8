using Forkline.Contracts.Accounting;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Sources;

/// <summary>
/// Something that produces kernel events: the BPF ring buffer, a recorded capture, a synthetic load.
/// </summary>
public interface IEventSource
{
    /// <summary>For logs and metrics labels, e.g. "bpf", "replay:/tmp/x.fkl", "synthetic".</summary>
    string Name { get; }

    /// <summary>What the source produced, lost, rejected and delivered so far (readable from any thread).</summary>
    SourceCounts Counts { get; }

    /// <summary>
    /// Delivers events to <paramref name="sink"/>, one at a time in the source's order, from one thread
    /// at a time. Completes when the source is exhausted or, without throwing, when
    /// <paramref name="cancellationToken"/> is cancelled (stopping is the normal end of a live source).
    /// Faults only for failures that stop the source (a missing file, a BPF load error).
    /// </summary>
    Task RunAsync(IKernelEventSink sink, CancellationToken cancellationToken);
}
