using System.Buffers;
using System.Text;
using System.Text.Json;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using Forkline.Export.Tests.Tetragon;

namespace Forkline.Export.Tests;

internal static class ExportAssert
{
    /// <summary>
    /// The line a formatter writes. Every Tetragon-shaped line an export test produces must read under
    /// Tetragon's definitions with a strict reader, except Forkline's one extension, process_clone, which
    /// is only written when clones are asked for.
    /// </summary>
    public static string Line(IEventFormatter formatter, EnrichedEvent enriched)
    {
        var buffer = new ArrayBufferWriter<byte>();
        formatter.Format(enriched, buffer);
        var line = Encoding.UTF8.GetString(buffer.WrittenSpan);
        if (formatter is TetragonJsonFormatter && enriched.Kind != EnrichedKind.Clone) StrictProtojson.AssertReads(line);
        return line;
    }

    /// <summary>Formats as JSON, checks it is exactly one line, and parses it back.</summary>
    public static JsonElement Json(EnrichedEvent enriched, FieldMask? fields = null)
    {
        var line = Line(new TetragonJsonFormatter(fields), enriched);
        Assert.EndsWith("\n", line);
        Assert.DoesNotContain('\n', line[..^1]);
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    public static string[] PropertyNames(JsonElement element) =>
        element.EnumerateObject().Select(property => property.Name).ToArray();

    public static string[] Strings(JsonElement array) =>
        array.EnumerateArray().Select(item => item.GetString()!).ToArray();
}
