using System.Buffers;
using System.Text;
using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;
using Forkline.Export;

namespace Forkline.Gateway.Api;

/// <summary>
/// Streams and replays render through the export's own Tetragon formatter, so an API line is
/// byte-for-byte the line `forkline run --json` prints for the same event.
/// </summary>
public sealed class ExportJsonFormatter : IEventJsonFormatter
{
    // The export formatter reuses its writer; API streams run concurrently, so each thread has its own.
    private readonly ThreadLocal<(TetragonJsonFormatter Formatter, ArrayBufferWriter<byte> Buffer)> _perThread =
        new(() => (new TetragonJsonFormatter(), new ArrayBufferWriter<byte>(4096)));

    public string Format(EnrichedEvent enriched)
    {
        var (formatter, buffer) = _perThread.Value;
        buffer.ResetWrittenCount();
        formatter.Format(enriched, buffer);
        return LineOf(buffer);
    }

    public string FormatDropped(long dropped, string node, DateTime time)
    {
        var (formatter, buffer) = _perThread.Value;
        buffer.ResetWrittenCount();
        formatter.FormatDropped(dropped, node, time, buffer);
        return LineOf(buffer);
    }

    public string FormatGap(HostGap gap)
    {
        var (formatter, buffer) = _perThread.Value;
        buffer.ResetWrittenCount();
        formatter.FormatGap(gap, buffer);
        return LineOf(buffer);
    }

    private static string LineOf(ArrayBufferWriter<byte> buffer)
    {
        var line = buffer.WrittenSpan;
        if (line.Length > 0 && line[^1] == (byte)'\n') line = line[..^1];
        return Encoding.UTF8.GetString(line);
    }
}
