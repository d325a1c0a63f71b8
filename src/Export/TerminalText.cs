using System.Buffers;
using System.Globalization;
using System.Text;

namespace Forkline.Export;

/// <summary>
/// The one escaping rule of every text view (compact events, ps, tree, lineage, replay, stats, error
/// lines). Names, arguments and paths are chosen by the traced processes, so a character that could
/// end the line, move the cursor or talk to the terminal is written as an escape instead:
/// <c>\n</c>, <c>\r</c>, <c>\t</c>, other C0/C1 controls and DEL as <c>\xNN</c>, bidirectional
/// overrides as <c>\uNNNN</c>, and a backslash as <c>\\</c>, so that the escaped text reads back to
/// exactly the original string. Bytes that were not UTF-8 arrive as the text <c>\xNN</c> (the decoding
/// rule, README "Bytes that are not UTF-8"), which this view shows as <c>\\xNN</c>.
/// </summary>
public static class TerminalText
{
    private const string ControlCharacters =
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f" +
        "\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f" +
        "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f" +
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069";

    private static readonly SearchValues<char> Unsafe = SearchValues.Create("\\" + ControlCharacters);
    private static readonly SearchValues<char> Controls = SearchValues.Create(ControlCharacters);

    /// <summary>The longest escape of one character: <c>\uNNNN</c>.</summary>
    public const int MaxEscapeLength = 6;

    /// <summary>The escaped form as a new string, for views off the hot path.</summary>
    public static string Escape(ReadOnlySpan<char> text) => Escape(text, Unsafe);

    /// <summary>
    /// Text that is already in <see cref="ArgumentLine"/>'s form (the API's `arguments`): its backslashes
    /// are escapes and stay; a control character (only in rows stored before that form) is escaped.
    /// </summary>
    public static string EscapeArgumentLine(ReadOnlySpan<char> text) => Escape(text, Controls);

    private static string Escape(ReadOnlySpan<char> text, SearchValues<char> escaped)
    {
        if (text.IndexOfAny(escaped) < 0) return text.ToString();
        var builder = new StringBuilder(text.Length + 16);
        Span<char> escape = stackalloc char[MaxEscapeLength];
        while (!text.IsEmpty)
        {
            var cut = text.IndexOfAny(escaped);
            builder.Append(cut < 0 ? text : text[..cut]);
            if (cut < 0) break;
            builder.Append(escape[..EscapeOne(text[cut], escape)]);
            text = text[(cut + 1)..];
        }
        return builder.ToString();
    }

    /// <summary>
    /// How much of escaped text (this class's or <see cref="ArgumentLine"/>'s) fits in <paramref name="limit"/>
    /// characters when it may only be cut between two escapes or characters: a cut inside <c>\x1b</c> would
    /// leave <c>\x1</c>, which no longer reads back. In that text a backslash always opens an escape
    /// (<c>\xNN</c>, <c>\uNNNN</c>, or two characters: <c>\\</c>, <c>\n</c>, <c>\"</c>...); a surrogate pair is kept whole too.
    /// </summary>
    public static int EscapedPrefixLength(ReadOnlySpan<char> escaped, int limit)
    {
        if (escaped.Length <= limit) return escaped.Length;
        var end = 0;
        while (true)
        {
            var next = end + UnitLength(escaped, end);
            if (next > limit) return end;
            end = next;
        }
    }

    private static int UnitLength(ReadOnlySpan<char> text, int at)
    {
        if (text[at] != '\\')
            return char.IsHighSurrogate(text[at]) && at + 1 < text.Length && char.IsLowSurrogate(text[at + 1]) ? 2 : 1;
        if (at + 1 == text.Length) return 1;
        return text[at + 1] switch { 'x' => 4, 'u' => 6, _ => 2 };
    }

    /// <summary>Where the next character that needs an escape is, or -1.</summary>
    public static int IndexOfUnsafe(ReadOnlySpan<char> text) => text.IndexOfAny(Unsafe);

    /// <summary>Writes the escape of one unsafe character into <paramref name="destination"/>; returns its length.</summary>
    public static int EscapeOne(char unsafeCharacter, Span<char> destination)
    {
        destination[0] = '\\';
        switch (unsafeCharacter)
        {
            case '\\': destination[1] = '\\'; return 2;
            case '\n': destination[1] = 'n'; return 2;
            case '\r': destination[1] = 'r'; return 2;
            case '\t': destination[1] = 't'; return 2;
        }
        int length;
        if (unsafeCharacter <= '\u00ff')
        {
            destination[1] = 'x';
            ((int)unsafeCharacter).TryFormat(destination[2..], out length, "x2", CultureInfo.InvariantCulture);
        }
        else
        {
            destination[1] = 'u';
            ((int)unsafeCharacter).TryFormat(destination[2..], out length, "x4", CultureInfo.InvariantCulture);
        }
        return 2 + length;
    }
}
