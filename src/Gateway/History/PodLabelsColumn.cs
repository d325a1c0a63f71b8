using System.Collections.Immutable;
using System.Text.Json;

namespace Forkline.Gateway.History;

/// <summary>
/// A pod's labels as the history table holds them: one JSON object of strings, in the labels' order
/// (sorted by key), the same text on SQLite and PostgreSQL. Keys and values are the pod's own: any
/// character survives, JSON escaping included.
/// </summary>
internal static class PodLabelsColumn
{
    private const string NoLabels = "{}";

    public static string Format(ImmutableArray<KeyValuePair<string, string>> labels)
    {
        if (labels.IsDefaultOrEmpty) return NoLabels;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in labels) json.WriteString(key, value);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <exception cref="InvalidDataException">The text is not a JSON object of strings (a row not written by Forkline).</exception>
    public static ImmutableArray<KeyValuePair<string, string>> Parse(string text, string execId)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Malformed(text, execId, null);
            var labels = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
            foreach (var label in document.RootElement.EnumerateObject())
            {
                if (label.Value.ValueKind != JsonValueKind.String) throw Malformed(text, execId, null);
                labels.Add(new KeyValuePair<string, string>(label.Name, label.Value.GetString()!));
            }
            return labels.ToImmutable();
        }
        catch (JsonException e)
        {
            throw Malformed(text, execId, e);
        }
    }

    private static InvalidDataException Malformed(string text, string execId, Exception? inner) =>
        new($"pod_labels of process {execId} in the history table is not a JSON object of strings: '{(text.Length > 200 ? text[..200] + "…" : text)}'", inner);
}
