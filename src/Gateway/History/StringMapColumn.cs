using System.Collections.Immutable;
using System.Text.Json;

namespace Forkline.Gateway.History;

/// <summary>
/// A pod's labels or annotations as the history table holds them: one JSON object of strings, in the
/// pairs' order (sorted by key), the same text on SQLite and PostgreSQL. Keys and values are the pod's
/// own: any character survives, JSON escaping included.
/// </summary>
internal static class StringMapColumn
{
    private const string NoEntries = "{}";

    public static string Format(ImmutableArray<KeyValuePair<string, string>> entries)
    {
        if (entries.IsDefaultOrEmpty) return NoEntries;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in entries) json.WriteString(key, value);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <param name="column">The column's name, for the error.</param>
    /// <exception cref="InvalidDataException">The text is not a JSON object of strings (a row not written by Forkline).</exception>
    public static ImmutableArray<KeyValuePair<string, string>> Parse(string text, string column, string execId)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Malformed(text, column, execId, null);
            var entries = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String) throw Malformed(text, column, execId, null);
                entries.Add(new KeyValuePair<string, string>(entry.Name, entry.Value.GetString()!));
            }
            return entries.ToImmutable();
        }
        catch (JsonException e)
        {
            throw Malformed(text, column, execId, e);
        }
    }

    private static InvalidDataException Malformed(string text, string column, string execId, Exception? inner) =>
        new($"{column} of process {execId} in the history table is not a JSON object of strings: '{(text.Length > 200 ? text[..200] + "…" : text)}'", inner);
}
