using System.Buffers;
using System.Text;
using System.Text.Json;
using Forkline.Contracts.Snapshots;
using Forkline.Export;

namespace Forkline.Export.Tests;

internal static class ExportAssert
{
    public static string Line(IEventFormatter formatter, EnrichedEvent enriched)
    {
        var buffer = new ArrayBufferWriter<byte>();
        formatter.Format(enriched, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Formats as JSON, checks it is exactly one line, and parses it back.</summary>
    public static JsonElement Json(EnrichedEvent enriched, FieldMask? fields = null, Contracts.Events.Namespaces? host = null)
    {
        var line = Line(new TetragonJsonFormatter(fields, host ?? SampleEvents.InitNamespaces), enriched);
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
