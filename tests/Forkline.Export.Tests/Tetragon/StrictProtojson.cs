using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Forkline.Export.Tests.Tetragon;

/// <summary>
/// Reads a JSON line as a strict protojson reader with Tetragon's definitions would (unknown fields
/// rejected, as Go's protojson.Unmarshal does by default): every field must be in
/// <see cref="TetragonSchema"/> under its proto name, of its JSON kind, enums by a known name, at most
/// one member of a oneof, no field twice. Returns what a reader would reject; empty when it reads.
/// </summary>
internal static partial class StrictProtojson
{
    public static IReadOnlyList<string> Problems(string line)
    {
        var problems = new List<string>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            return [$"not JSON: {e.Message}"];
        }
        using (document) CheckMessage(document.RootElement, TetragonSchema.Root, "$", problems);
        return problems;
    }

    /// <summary>Fails the test with every problem of <paramref name="line"/>.</summary>
    public static void AssertReads(string line)
    {
        var problems = Problems(line);
        Assert.True(problems.Count == 0, $"a strict Tetragon reader rejects this line:\n  {string.Join("\n  ", problems)}\nline: {line}");
    }

    private static void CheckMessage(JsonElement value, string message, string path, List<string> problems)
    {
        if (!TetragonSchema.Messages.TryGetValue(message, out var fields))
        {
            problems.Add($"{path}: message {message} is one Forkline must not write (not in the table)");
            return;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{path}: {message} must be a JSON object, not {value.ValueKind}");
            return;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var oneofs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            var at = $"{path}.{property.Name}";
            if (!seen.Add(property.Name)) problems.Add($"{at}: field appears twice");
            if (!fields.TryGetValue(property.Name, out var field))
            {
                problems.Add($"{at}: unknown field \"{property.Name}\" in {message}");
                continue;
            }
            if (field.Oneof is { } oneof && !oneofs.TryAdd(oneof, property.Name))
                problems.Add($"{at}: oneof {oneof} of {message} already set by \"{oneofs[oneof]}\"");
            if (field.Repeated)
            {
                if (property.Value.ValueKind != JsonValueKind.Array)
                {
                    problems.Add($"{at}: repeated field must be an array, not {property.Value.ValueKind}");
                    continue;
                }
                var index = 0;
                foreach (var item in property.Value.EnumerateArray()) CheckValue(item, field, $"{at}[{index++}]", problems);
            }
            else CheckValue(property.Value, field, at, problems);
        }
    }

    private static void CheckValue(JsonElement value, Field field, string path, List<string> problems)
    {
        var problem = field.Kind switch
        {
            FieldKind.String => value.ValueKind == JsonValueKind.String ? null : "a string",
            FieldKind.Bool or FieldKind.BoolValue => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "true or false",
            FieldKind.Int32 or FieldKind.Int32Value => Integer(value, int.MinValue, int.MaxValue) ? null : "a 32-bit signed integer",
            FieldKind.UInt32 or FieldKind.UInt32Value => Integer(value, 0, uint.MaxValue) ? null : "a 32-bit unsigned integer",
            FieldKind.Int64 => Integer(value, long.MinValue, long.MaxValue) ? null : "a 64-bit signed integer (a string, as protojson writes it)",
            FieldKind.UInt64 => Integer(value, 0, ulong.MaxValue) ? null : "a 64-bit unsigned integer (a string, as protojson writes it)",
            FieldKind.Bytes => value.ValueKind == JsonValueKind.String && IsBase64(value.GetString()!) ? null : "base64 text",
            FieldKind.Timestamp => value.ValueKind == JsonValueKind.String && Rfc3339().IsMatch(value.GetString()!) ? null : "an RFC 3339 timestamp",
            FieldKind.Enum => EnumProblem(value, field.Type!),
            FieldKind.StringMap => value.ValueKind == JsonValueKind.Object && value.EnumerateObject().All(entry => entry.Value.ValueKind == JsonValueKind.String)
                ? null
                : "an object of strings",
            FieldKind.Message => null,
            _ => $"a kind the table does not know ({field.Kind})",
        };
        if (problem is not null) problems.Add($"{path}: {field.Kind} must be {problem}, not {value.GetRawText()}");
        else if (field.Kind == FieldKind.Message) CheckMessage(value, field.Type!, path, problems);
    }

    private static string? EnumProblem(JsonElement value, string enumName)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _)) return null;
        if (value.ValueKind != JsonValueKind.String) return $"a name of {enumName} or a number";
        if (!TetragonSchema.Enums.TryGetValue(enumName, out var names)) return $"a value of enum {enumName}, which Forkline must not write (not in the table)";
        return names.Contains(value.GetString()!) ? null : $"one of {enumName}'s names";
    }

    // protojson writes 64-bit integers as strings and reads both forms; 32-bit ones as numbers, and reads quoted ones too.
    private static bool Integer(JsonElement value, decimal min, decimal max)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.String => value.GetString()!,
            _ => null,
        };
        return text is not null
               && decimal.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
               && number >= min && number <= max;
    }

    private static bool IsBase64(string text) => Convert.TryFromBase64String(text, new byte[text.Length], out _);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();
}
