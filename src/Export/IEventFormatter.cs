using System.Buffers;
using Forkline.Contracts.Snapshots;

namespace Forkline.Export;

/// <summary>Renders one enriched event as one output line. Implementations reuse buffers: one thread at a time.</summary>
public interface IEventFormatter
{
    /// <summary>Appends the event's line, '\n' included, to <paramref name="output"/>.</summary>
    void Format(EnrichedEvent enriched, IBufferWriter<byte> output);
}
