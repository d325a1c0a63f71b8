using Forkline.Collector.Decoding;
using Forkline.Collector.Sources;
using Forkline.Contracts.Events;

namespace Forkline.Collector.RingBuffer;

/// <summary>
/// The one path every raw record takes (ring and procfs bootstrap alike): optionally recorded to a
/// capture file, then decoded and handed to the sink. Bad records are counted by the decoder.
/// </summary>
public readonly struct DecodingRecordHandler(RecordDecoder decoder, IKernelEventSink sink, CaptureWriter? capture) : IRingRecordHandler
{
    public void OnRecord(ReadOnlySpan<byte> record)
    {
        capture?.Write(record);
        var decoded = decoder.Decode(record);
        if (decoded is not null) sink.OnEvent(decoded);
    }
}
