using System.Buffers;
using System.Collections.Immutable;

namespace Forkline.Export;

/// <summary>
/// The one-string form of a command line, Tetragon's `arguments`: the arguments after argv[0] (the
/// binary is its own field), separated by spaces. Tetragon wraps an argument containing a space in
/// double quotes and nothing more, which leaves argv ambiguous (`''` vanishes, inner quotes collide);
/// here an argument is written bare only when it is not empty and has no space, double quote,
/// backslash or character <see cref="TerminalText"/> escapes. Any other is double-quoted, with
/// <c>\"</c> and <c>\\</c> inside and control characters escaped as <see cref="TerminalText"/> does,
/// so the line splits back into exactly the original argv and is safe to print on a terminal as it is.
/// An argument with spaces and nothing else special reads as Tetragon writes it.
/// Reuses one buffer, so one instance belongs to one writer thread.
/// </summary>
public sealed class ArgumentLine
{
    private static readonly SearchValues<char> Special = SearchValues.Create(" \"");

    private char[] _buffer = new char[256];
    private int _written;

    /// <summary>The line as a new string, for callers off the export's hot path (queries, tables).</summary>
    public static string Format(ImmutableArray<string> argv) => new ArgumentLine().Join(argv).ToString();

    /// <summary>One word (a binary's path, an argument) as the line writes it, for text views.</summary>
    public static string Quote(string word)
    {
        var line = new ArgumentLine();
        line.Append(word);
        return line._buffer.AsSpan(0, line._written).ToString();
    }

    /// <summary>argv[1..] joined; empty when there are none.</summary>
    public ReadOnlySpan<char> Join(ImmutableArray<string> argv)
    {
        _written = 0;
        if (argv.IsDefaultOrEmpty) return default;
        for (var i = 1; i < argv.Length; i++)
        {
            if (i > 1) Put(' ');
            Append(argv[i]);
        }
        return _buffer.AsSpan(0, _written);
    }

    /// <summary>The binary, then argv[1..]: the whole command as a text view shows it.</summary>
    public ReadOnlySpan<char> Command(string binary, ImmutableArray<string> argv)
    {
        _written = 0;
        Append(binary);
        if (!argv.IsDefaultOrEmpty)
        {
            for (var i = 1; i < argv.Length; i++)
            {
                Put(' ');
                Append(argv[i]);
            }
        }
        return _buffer.AsSpan(0, _written);
    }

    private void Append(string word)
    {
        if (word.Length > 0 && word.AsSpan().IndexOfAny(Special) < 0 && TerminalText.IndexOfUnsafe(word) < 0)
        {
            Reserve(word.Length);
            word.CopyTo(_buffer.AsSpan(_written));
            _written += word.Length;
            return;
        }
        Put('"');
        var rest = word.AsSpan();
        while (!rest.IsEmpty)
        {
            var cut = QuotedCut(rest);
            var run = cut < 0 ? rest : rest[..cut];
            Reserve(run.Length);
            run.CopyTo(_buffer.AsSpan(_written));
            _written += run.Length;
            if (cut < 0) break;
            Reserve(TerminalText.MaxEscapeLength);
            if (rest[cut] == '"')
            {
                _buffer[_written++] = '\\';
                _buffer[_written++] = '"';
            }
            else
            {
                _written += TerminalText.EscapeOne(rest[cut], _buffer.AsSpan(_written));
            }
            rest = rest[(cut + 1)..];
        }
        Put('"');
    }

    /// <summary>Inside quotes a space is plain; a quote, a backslash and what the terminal rule escapes are not.</summary>
    private static int QuotedCut(ReadOnlySpan<char> text)
    {
        var quote = text.IndexOf('"');
        var unsafeCharacter = TerminalText.IndexOfUnsafe(text);
        if (quote < 0) return unsafeCharacter;
        return unsafeCharacter < 0 ? quote : Math.Min(quote, unsafeCharacter);
    }

    private void Put(char character)
    {
        Reserve(1);
        _buffer[_written++] = character;
    }

    private void Reserve(int more)
    {
        if (_written + more <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_written + more, _buffer.Length * 2));
    }
}
