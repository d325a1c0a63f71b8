using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Forkline.Gateway.Api.Http;

/// <summary>Query-string values and their typed forms; a value that does not parse is an InvalidArgument naming it.</summary>
public static class HttpQuery
{
    public static string? Text(this IQueryCollection query, string name)
    {
        var value = query[name].ToString();
        return value.Length == 0 ? null : value;
    }

    /// <summary>Values of a repeated parameter, each of which may also be comma separated.</summary>
    public static IReadOnlyList<string> List(this IQueryCollection query, string name)
    {
        var items = new List<string>();
        foreach (var value in query[name])
        {
            if (value is null) continue;
            foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                items.Add(item);
        }
        return items;
    }

    public static int Int(string name, string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ApiRequestException.Invalid($"{name} '{ApiInput.Quote(text)}' is not an integer");

    public static bool Bool(string name, string text) =>
        bool.TryParse(text, out var value)
            ? value
            : throw ApiRequestException.Invalid($"{name} '{ApiInput.Quote(text)}' is not a boolean: use true or false");
}
