using System.Collections.Immutable;

namespace Forkline.Export;

/// <summary>
/// Tetragon's one-string form of a command line: the arguments after argv[0] (the binary is its own
/// field), separated by spaces, an argument that contains a space wrapped in double quotes.
/// Reuses one buffer, so one instance belongs to one writer thread.
/// </summary>
public sealed class ArgumentLine
{
    private char[] _buffer = new char[256];

    /// <summary>The line as a new string, for callers off the export's hot path (queries, tables).</summary>
    public static string Format(ImmutableArray<string> argv) => new ArgumentLine().Join(argv).ToString();

    public ReadOnlySpan<char> Join(ImmutableArray<string> argv)
    {
        if (argv.IsDefaultOrEmpty || argv.Length == 1) return default;
        var length = 0;
        for (var i = 1; i < argv.Length; i++)
            length += argv[i].Length + (NeedsQuotes(argv[i]) ? 3 : 1);
        if (_buffer.Length < length) _buffer = new char[Math.Max(length, _buffer.Length * 2)];

        var written = 0;
        for (var i = 1; i < argv.Length; i++)
        {
            if (i > 1) _buffer[written++] = ' ';
            var argument = argv[i];
            var quoted = NeedsQuotes(argument);
            if (quoted) _buffer[written++] = '"';
            argument.CopyTo(_buffer.AsSpan(written));
            written += argument.Length;
            if (quoted) _buffer[written++] = '"';
        }
        return _buffer.AsSpan(0, written);
    }

    private static bool NeedsQuotes(string argument) => argument.Contains(' ');
}
