namespace Forkline.Collector.RingBuffer;

/// <summary>
/// Receives each committed record of a drain. Implemented by structs so the drain loop is
/// specialized per handler (no interface dispatch, no delegate per record).
/// </summary>
public interface IRingRecordHandler
{
    /// <summary>The record's bytes stay valid only during the call (they live in the ring).</summary>
    void OnRecord(ReadOnlySpan<byte> record);
}
