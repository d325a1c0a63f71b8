using System.Globalization;

namespace Forkline.Gateway.Api;

/// <summary>
/// Times as people type them on a command line or in a query string: RFC3339
/// ("2025-01-31T12:00:00Z", "2025-01-31T13:00:00+01:00"; a date or time without an offset is UTC),
/// "now", or a span back from now: "-10m", "10m", "10m ago", "1h30m ago", "2d ago" (units s, m, h, d).
/// </summary>
public static class ApiTime
{
    public const string Forms =
        "RFC3339 (2025-01-31T12:00:00Z) or a time back from now (-10m, 90s ago, 1h30m ago, 2d ago, now)";

    // Spans longer than this are typos, and would overflow DateTime arithmetic long before.
    private static readonly TimeSpan LongestSpan = TimeSpan.FromDays(365 * 100);

    public static bool TryParse(string? text, DateTime nowUtc, out DateTime utc)
    {
        utc = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var trimmed = text.Trim();
        if (trimmed.Equals("now", StringComparison.OrdinalIgnoreCase))
        {
            utc = nowUtc;
            return true;
        }
        if (TryParseSpanBack(trimmed, out var back))
        {
            utc = nowUtc - back;
            return true;
        }
        if (DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var absolute))
        {
            utc = absolute.UtcDateTime;
            return true;
        }
        return false;
    }

    /// <summary>The error text for a time that did not parse, naming the parameter and the value.</summary>
    public static string NotATime(string parameter, string? text) =>
        $"{parameter} '{text}' is not a time: use {Forms}";

    private static bool TryParseSpanBack(string text, out TimeSpan span)
    {
        span = TimeSpan.Zero;
        var rest = text.AsSpan();
        var hasMinus = rest.StartsWith("-");
        if (hasMinus) rest = rest[1..].TrimStart();
        var hasAgo = rest.EndsWith("ago", StringComparison.OrdinalIgnoreCase);
        if (hasAgo) rest = rest[..^3].TrimEnd();
        if (hasMinus && hasAgo) return false;
        if (rest.IsEmpty) return false;

        while (!rest.IsEmpty)
        {
            var digits = 0;
            while (digits < rest.Length && char.IsAsciiDigit(rest[digits])) digits++;
            if (digits == 0 || digits == rest.Length || digits > 9) return false;
            var amount = long.Parse(rest[..digits], NumberStyles.None, CultureInfo.InvariantCulture);
            var unit = rest[digits] switch
            {
                's' => TimeSpan.FromSeconds(1),
                'm' => TimeSpan.FromMinutes(1),
                'h' => TimeSpan.FromHours(1),
                'd' => TimeSpan.FromDays(1),
                _ => TimeSpan.Zero,
            };
            if (unit == TimeSpan.Zero) return false;
            if (amount > LongestSpan.Ticks / unit.Ticks) return false;
            span += TimeSpan.FromTicks(amount * unit.Ticks);
            if (span > LongestSpan) return false;
            rest = rest[(digits + 1)..];
        }
        return true;
    }
}
