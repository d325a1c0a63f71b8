using System.Text.RegularExpressions;

namespace Forkline.Export;

/// <summary>
/// A regular expression over binary paths from a user or an API client, compiled for the non-backtracking
/// engine: matching costs time linear in the path whatever the pattern (`(a+)+$` included), so a filter can
/// run where it shares a thread with other work. Backreferences, lookarounds and atomic groups need
/// backtracking and are refused when the pattern is compiled, as is a pattern over
/// <see cref="MaxLength"/> characters. Immutable: any thread may call <see cref="Matches"/>.
/// </summary>
public sealed class BinaryPattern
{
    /// <summary>Longer patterns are refused: the engine's construction grows with the pattern.</summary>
    public const int MaxLength = 1024;

    private readonly Regex _regex;

    private BinaryPattern(Regex regex) => _regex = regex;

    /// <summary>Null for no pattern (null or empty).</summary>
    /// <exception cref="ArgumentException">The pattern is not valid or needs backtracking; the message says which and why.</exception>
    public static BinaryPattern? Parse(string? pattern) =>
        string.IsNullOrEmpty(pattern) ? null : AnyOf([pattern]);

    /// <summary>One pattern matching where any of <paramref name="patterns"/> matches; null when there are none.</summary>
    /// <exception cref="ArgumentException">One of them is not valid or needs backtracking; the message names it.</exception>
    public static BinaryPattern? AnyOf(IReadOnlyCollection<string> patterns)
    {
        if (patterns.Count == 0) return null;
        foreach (var pattern in patterns) Compile(pattern);
        return patterns.Count == 1
            ? new BinaryPattern(Compile(patterns.First()))
            : new BinaryPattern(Compile(string.Join("|", patterns.Select(pattern => $"(?:{pattern})")), checkLength: false));
    }

    public bool Matches(string binary) => _regex.IsMatch(binary);

    private static Regex Compile(string pattern, bool checkLength = true)
    {
        if (checkLength && pattern.Length > MaxLength)
            throw new ArgumentException($"binary regex of {pattern.Length} characters is longer than the {MaxLength} allowed", nameof(pattern));
        try
        {
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new ArgumentException(
                $"binary regex '{Shorten(pattern)}' is not usable: {e.Message} — use .NET regex syntax without backreferences, " +
                "lookarounds or atomic groups (patterns run on a linear-time engine)",
                nameof(pattern), e);
        }
    }

    private static string Shorten(string pattern) => pattern.Length <= 120 ? pattern : string.Concat(pattern.AsSpan(0, 120), "…");
}
