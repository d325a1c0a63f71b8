using System.Globalization;
using Forkline.Contracts.Snapshots;
using Microsoft.AspNetCore.Http;

namespace Forkline.Gateway.Api.Http;

/// <summary>Typed query-string values; a value that does not parse is an InvalidArgument naming it.</summary>
public static class HttpQuery
{
    public static string? Text(this IQueryCollection query, string name)
    {
        var value = query[name].ToString();
        return value.Length == 0 ? null : value;
    }

    public static int? Int(this IQueryCollection query, string name)
    {
        var text = query.Text(name);
        if (text is null) return null;
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ApiRequestException.Invalid($"{name} '{ApiInput.Quote(text)}' is not an integer");
    }

    public static bool? Bool(this IQueryCollection query, string name)
    {
        var text = query.Text(name);
        if (text is null) return null;
        return bool.TryParse(text, out var value)
            ? value
            : throw ApiRequestException.Invalid($"{name} '{ApiInput.Quote(text)}' is not a boolean: use true or false");
    }

    public static DateTime? Time(this IQueryCollection query, string name) =>
        ApiInput.Time(query.Text(name), name, DateTime.UtcNow);

    /// <summary>Values of a repeated parameter, each of which may also be comma separated; null when absent.</summary>
    public static IReadOnlyList<string>? List(this IQueryCollection query, string name)
    {
        var items = new List<string>();
        foreach (var value in query[name])
        {
            if (value is null) continue;
            foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                items.Add(item);
        }
        return items.Count == 0 ? null : items;
    }

    public static IReadOnlySet<EnrichedKind>? EventTypes(this IQueryCollection query, string name)
    {
        var names = query.List(name);
        if (names is null) return null;
        var kinds = new HashSet<EnrichedKind>();
        foreach (var typeName in names) kinds.Add(ApiInput.EventType(typeName, name));
        return kinds;
    }
}
